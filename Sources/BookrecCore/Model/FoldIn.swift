import Foundation

/// A reader vector solved in closed form against fixed item vectors (fold-in), so that a
/// reader who was not in training, or has new ratings, is served without retraining.
public struct FoldIn: Codable, Sendable {
    public let objective: Objective
    public let regularization: Float
    /// For BPR: the margin a rated book should have over the average book, measured on the
    /// trained readers, so that folded-in vectors have the scale of trained ones.
    public let targetMargin: Float
    /// For BPR: the mean item vector q̄ that rated books are contrasted with.
    public let meanItemVector: [Float]
    /// For a model that is its closed-form start (no training epochs): a reader's vector is
    /// computed the way the start computes it, against the fixed book vectors.
    public let start: ClosedFormStart?

    /// How the closed-form start makes a reader's vector: the direction of the mean content
    /// factors of the books they liked, times `profileScale`, then iALS's solve against the
    /// books' collaborative factors, times `collaborativeScale`.
    public struct ClosedFormStart: Codable, Sendable {
        public let contentFactors: Int
        public let profileScale: Float
        public let collaborativeScale: Float
        public let implicitALS: ImplicitALSConfiguration
    }

    public init(objective: Objective, regularization: Float, targetMargin: Float, meanItemVector: [Float], start: ClosedFormStart? = nil) {
        self.objective = objective
        self.regularization = regularization
        self.targetMargin = targetMargin
        self.meanItemVector = meanItemVector
        self.start = start
    }

    /// Calibrates the fold-in on trained readers and items.
    public init(configuration: ModelConfiguration, parameters: ModelParameters, items: ItemSide, interactions: Interactions) {
        let k = items.vectors.columns
        var mean = [Float](repeating: 0, count: k)
        for b in 0..<items.vectors.rows {
            for f in 0..<k { mean[f] += items.vectors[b, f] / Float(items.vectors.rows) }
        }
        var margins: Double = 0
        for i in 0..<interactions.count {
            let u = Int(interactions.reader[i]), b = Int(interactions.book[i])
            var m: Float = 0
            for f in 0..<k { m += parameters.readerVectors[u, f] * (items.vectors[b, f] - mean[f]) }
            margins += Double(m)
        }
        var start: ClosedFormStart?
        if configuration.epochs == 0 && configuration.personalised && configuration.collaborativeResidual && configuration.objective == .bpr {
            var implicitALS = configuration.implicitALS
            // From zero, not from last epoch's value: enough steps to reach the solution.
            implicitALS.conjugateGradientSteps = 3 * implicitALS.epochs
            start = ClosedFormStart(
                contentFactors: configuration.contentFactors, profileScale: configuration.profileScale,
                collaborativeScale: configuration.collaborativeScale, implicitALS: implicitALS)
        }
        self.init(
            objective: configuration.objective, regularization: configuration.foldInRegularization,
            targetMargin: interactions.count > 0 ? Float(margins / Double(interactions.count)) : 1,
            meanItemVector: mean, start: start)
    }

    /// (p_u, β_u) for each reader, from their ratings of books (indices into `items`).
    public func solve(readers: [[(book: Int, rating: Float)]], items: ItemSide) -> [(vector: [Float], bias: Float)] {
        guard let start else { return readers.map { solve(ratings: $0, items: items) } }
        let k = items.vectors.columns, m = start.contentFactors, r = k - m
        var collaborative = Matrix(rows: items.vectors.rows, columns: r)
        for b in 0..<items.vectors.rows {
            for f in 0..<r { collaborative[b, f] = items.vectors[b, m + f] }
        }
        let solved = ImplicitALS.solve(
            rows: 0..<readers.count, current: Matrix(rows: readers.count, columns: r),
            rated: readers.map { $0.map { Int32($0.book) }.sorted() }, fixed: collaborative, configuration: start.implicitALS)
        return readers.enumerated().map { u, ratings in
            guard !ratings.isEmpty else { return ([Float](repeating: 0, count: k), 0) }
            let liked = ratings.filter { $0.rating >= 4 }.map(\.book)
            var profile = [Float](repeating: 0, count: m)
            for b in liked.isEmpty ? ratings.map(\.book) : liked {
                for f in 0..<m { profile[f] += items.vectors[b, f] }
            }
            normalize(&profile)
            return (profile.map { $0 * start.profileScale } + solved.row(u).map { $0 * start.collaborativeScale }, 0)
        }
    }

    /// (p_u, β_u) for a reader with these ratings of books (indices into `items`), for a trained
    /// model: ridge regression against the fixed book vectors.
    func solve(ratings: [(book: Int, rating: Float)], items: ItemSide) -> (vector: [Float], bias: Float) {
        let k = items.vectors.columns
        guard !ratings.isEmpty else { return ([Float](repeating: 0, count: k), 0) }
        switch objective {
        case .bpr:
            // min Σ_b (m − p·(q_b − q̄))² + λ‖p‖²
            var design = Matrix(rows: ratings.count, columns: k)
            for (r, entry) in ratings.enumerated() {
                for f in 0..<k { design[r, f] = items.vectors[entry.book, f] - meanItemVector[f] }
            }
            let targets = [Float](repeating: targetMargin, count: ratings.count)
            return (ridge(design, targets, penalties: [Float](repeating: regularization, count: k)), 0)
        case .mse:
            // min Σ_b (logit(y_b) − term_b − p·q_b − β)² + λ‖p‖² + λ/10·β², in logit space.
            var design = Matrix(rows: ratings.count, columns: k + 1)
            var targets = [Float]()
            for (r, entry) in ratings.enumerated() {
                for f in 0..<k { design[r, f] = items.vectors[entry.book, f] }
                design[r, k] = 1
                let y = min(max(normalizedRating(entry.rating), 0.02), 0.98)
                targets.append(logf(y / (1 - y)) - items.bookTerms[entry.book])
            }
            let solution = ridge(design, targets, penalties: [Float](repeating: regularization, count: k) + [regularization / 10])
            return (Array(solution[0..<k]), solution[k])
        }
    }
}

/// argmin_x ‖A x − y‖² + Σ_i penalty_i x_i², by Cholesky on the normal equations (in Double).
func ridge(_ design: Matrix, _ targets: [Float], penalties: [Float]) -> [Float] {
    let n = design.columns
    var gram = [Double](repeating: 0, count: n * n)
    var rhs = [Double](repeating: 0, count: n)
    for r in 0..<design.rows {
        for i in 0..<n {
            let a = Double(design[r, i])
            rhs[i] += a * Double(targets[r])
            for j in 0...i { gram[i * n + j] += a * Double(design[r, j]) }
        }
    }
    for i in 0..<n {
        gram[i * n + i] += Double(penalties[i])
        for j in 0..<i { gram[j * n + i] = gram[i * n + j] }
    }
    return choleskySolve(gram, rhs, n: n).map(Float.init)
}

/// Solves G x = b for a symmetric positive definite G (n × n, row-major).
func choleskySolve(_ g: [Double], _ b: [Double], n: Int) -> [Double] {
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var sum = g[i * n + j]
            for m in 0..<j { sum -= l[i * n + m] * l[j * n + m] }
            l[i * n + j] = i == j ? max(sum, 1e-12).squareRoot() : sum / l[j * n + j]
        }
    }
    var y = [Double](repeating: 0, count: n)
    for i in 0..<n {
        var sum = b[i]
        for m in 0..<i { sum -= l[i * n + m] * y[m] }
        y[i] = sum / l[i * n + i]
    }
    var x = [Double](repeating: 0, count: n)
    for i in stride(from: n - 1, through: 0, by: -1) {
        var sum = y[i]
        for m in (i + 1)..<n { sum -= l[m * n + i] * x[m] }
        x[i] = sum / l[i * n + i]
    }
    return x
}

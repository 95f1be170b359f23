import Foundation

/// One training example: for BPR a (reader, rated book, unrated book) triple; for MSE a rating.
public struct TrainingExample: Equatable, Sendable {
    public var reader: Int
    public var book: Int
    /// The sampled unrated book (BPR only).
    public var negative: Int?
    /// The rating mapped to [0, 1] (MSE only).
    public var target: Float
    /// Whether the rated book's collaborative residual takes part in this example (see residual
    /// dropout).
    public var usesResidual: Bool
    /// The same for the negative, drawn on its own: a BPR pair then also compares a book placed by
    /// its content alone with one that has its residual, as scoring compares new books with old.
    public var negativeUsesResidual: Bool

    public init(
        reader: Int, book: Int, negative: Int? = nil, target: Float = 0, usesResidual: Bool = true,
        negativeUsesResidual: Bool = true
    ) {
        self.reader = reader
        self.book = book
        self.negative = negative
        self.target = target
        self.usesResidual = usesResidual
        self.negativeUsesResidual = negativeUsesResidual
    }
}

/// The gradient of the loss; reader and residual rows are sparse (only those in the batch).
public struct Gradient: Sendable {
    public var textWeights: Matrix
    public var textBias: [Float]
    public var coverWeights: Matrix
    public var coverBias: [Float]
    public var projection: Matrix
    public var head: [Float]
    public var headBias: Float = 0
    public var readerVectors: [Int: [Float]] = [:]
    public var readerBias: [Int: Float] = [:]
    public var residualVectors: [Int: [Float]] = [:]
    public var residualBias: [Int: Float] = [:]

    init(shapeOf parameters: ModelParameters) {
        textWeights = Matrix(rows: parameters.textWeights.rows, columns: parameters.textWeights.columns)
        textBias = [Float](repeating: 0, count: parameters.textBias.count)
        coverWeights = Matrix(rows: parameters.coverWeights.rows, columns: parameters.coverWeights.columns)
        coverBias = [Float](repeating: 0, count: parameters.coverBias.count)
        projection = Matrix(rows: parameters.projection.rows, columns: parameters.projection.columns)
        head = [Float](repeating: 0, count: parameters.head.count)
    }
}

extension ModelParameters {
    /// Mean loss over `examples` plus L2 penalties, and its gradient, derived by hand.
    ///
    /// Reader and residual penalties are charged once per example that touches them (as in SGD),
    /// weight penalties once per call. The tests check every part against finite differences.
    public func lossAndGradient(
        examples: [TrainingExample], features: BookFeatures, configuration: ModelConfiguration
    ) -> (loss: Float, gradient: Gradient) {
        // Forward the books of this batch only.
        var localIndex: [Int: Int] = [:]
        var batchBooks: [Int] = []
        for example in examples {
            for b in [example.book, example.negative].compactMap({ $0 }) where localIndex[b] == nil {
                localIndex[b] = batchBooks.count
                batchBooks.append(b)
            }
        }
        let forward = itemForward(features, books: batchBooks, modalities: configuration.modalities)
        let k = projection.rows
        let offset = residualOffset
        let d = textBias.count
        let scale = 1 / Float(max(examples.count, 1))

        var gradient = Gradient(shapeOf: self)
        var gradVectors = Matrix(rows: batchBooks.count, columns: k)  // dL/dq_b
        var gradTerms = [Float](repeating: 0, count: batchBooks.count)  // dL/d(book term)
        var loss: Float = 0

        func item(_ local: Int, _ book: Int, _ f: Int, _ withResidual: Bool) -> Float {
            forward.side.vectors[local, f] + (withResidual && f >= offset ? residualVectors[book, f - offset] : 0)
        }
        func logit(_ reader: [Float], _ local: Int, _ book: Int, _ withResidual: Bool) -> Float {
            var x = forward.side.bookTerms[local]
            for f in 0..<k { x += reader[f] * item(local, book, f, withResidual) }
            return withResidual ? x + residualBias[book] : x
        }

        for example in examples {
            let u = example.reader
            let p = configuration.personalised ? readerVectors.row(u) : [Float](repeating: 0, count: k)
            let residual = configuration.collaborativeResidual && example.usesResidual
            let negativeResidual = configuration.collaborativeResidual && example.negativeUsesResidual
            // dL/dx for the positive (or rated) book and, for BPR, the negative one.
            var involved: [(book: Int, gradient: Float, residual: Bool)] = []
            switch configuration.objective {
            case .bpr:
                guard let negative = example.negative else { preconditionFailure("BPR example without a negative") }
                let margin = logit(p, localIndex[example.book]!, example.book, residual)
                    - logit(p, localIndex[negative]!, negative, negativeResidual)
                loss += softplus(-margin) * scale
                let g = (sigmoid(margin) - 1) * scale
                involved = [(example.book, g, residual), (negative, -g, negativeResidual)]
            case .mse:
                let x = logit(p, localIndex[example.book]!, example.book, residual) + readerBias[u]
                let prediction = sigmoid(x)
                let error = prediction - example.target
                loss += error * error * scale
                let g = 2 * error * prediction * (1 - prediction) * scale
                involved = [(example.book, g, residual)]
                gradient.readerBias[u, default: 0] += g
            }
            var gradReader = [Float](repeating: 0, count: k)
            for (book, g, residual) in involved {
                let local = localIndex[book]!
                for f in 0..<k {
                    gradReader[f] += g * item(local, book, f, residual)
                    gradVectors[local, f] += g * p[f]
                }
                gradTerms[local] += g
                if residual {
                    var row = gradient.residualVectors[book] ?? [Float](repeating: 0, count: k - offset)
                    for f in offset..<k { row[f - offset] += g * p[f] }
                    gradient.residualVectors[book] = row
                    gradient.residualBias[book, default: 0] += g
                }
            }
            for (book, _, residual) in involved where residual {
                let lambda = configuration.residualRegularization * scale
                var row = gradient.residualVectors[book]!
                for f in 0..<(k - offset) {
                    row[f] += lambda * residualVectors[book, f]
                    loss += 0.5 * lambda * residualVectors[book, f] * residualVectors[book, f]
                }
                gradient.residualVectors[book] = row
                gradient.residualBias[book, default: 0] += lambda * residualBias[book]
                loss += 0.5 * lambda * residualBias[book] * residualBias[book]
            }
            if configuration.personalised {
                let lambda = configuration.readerRegularization * scale
                var row = gradient.readerVectors[u] ?? [Float](repeating: 0, count: k)
                for f in 0..<k {
                    row[f] += gradReader[f] + lambda * p[f]
                    loss += 0.5 * lambda * p[f] * p[f]
                }
                gradient.readerVectors[u] = row
            }
        }

        // Back through q_b = P h_b and the book term wᵀh_b + c.
        gemm(gradVectors, transposeA: true, forward.side.fused, into: &gradient.projection)
        var gradFused = multiply(gradVectors, projection)  // books × 2d
        for local in 0..<batchBooks.count {
            gradient.headBias += gradTerms[local]
            for j in 0..<(2 * d) {
                gradient.head[j] += gradTerms[local] * forward.side.fused[local, j]
                gradFused[local, j] += gradTerms[local] * head[j]
            }
        }
        // Back through the co-attention and the ReLU layers.
        var gradPreText = Matrix(rows: batchBooks.count, columns: d)
        var gradPreCover = Matrix(rows: batchBooks.count, columns: d)
        for local in 0..<batchBooks.count {
            let row = gradFused.row(local)
            let (gText, gCover) = forward.attention[local].backward(
                fusedTextGradient: Array(row[0..<d]), fusedCoverGradient: Array(row[d..<(2 * d)]))
            for j in 0..<d {
                gradPreText[local, j] = forward.projectedText[local, j] > 0 ? gText[j] : 0
                gradPreCover[local, j] = forward.projectedCover[local, j] > 0 ? gCover[j] : 0
            }
        }
        if configuration.modalities.usesText {
            gradient.textWeights = outerProductSum(features.text, batchBooks, gradPreText)
        }
        if configuration.modalities.usesCover {
            gradient.coverWeights = outerProductSum(features.cover, batchBooks, gradPreCover)
        }
        for local in 0..<batchBooks.count {
            for j in 0..<d {
                gradient.textBias[j] += gradPreText[local, j]
                gradient.coverBias[j] += gradPreCover[local, j]
            }
        }
        // Weight decay on the dense weights.
        let lambda = configuration.weightRegularization
        loss += addWeightDecay(lambda, textWeights, into: &gradient.textWeights)
        loss += addWeightDecay(lambda, coverWeights, into: &gradient.coverWeights)
        loss += addWeightDecay(lambda, projection, into: &gradient.projection)
        return (loss, gradient)
    }
}

/// Σ_b upstream_b ⊗ x_b as a d × columns matrix, computed in the sparse rows' transposed layout.
private func outerProductSum(_ inputs: SparseRows, _ books: [Int], _ upstream: Matrix) -> Matrix {
    var transposed = [Float](repeating: 0, count: inputs.columns * upstream.columns)
    inputs.accumulateOuterProducts(books, upstream: upstream, into: &transposed)
    return Matrix(rows: inputs.columns, columns: upstream.columns, values: transposed).transposed
}

/// Adds λ·W to the gradient and returns the penalty λ/2·‖W‖².
private func addWeightDecay(_ lambda: Float, _ weights: Matrix, into gradient: inout Matrix) -> Float {
    var penalty: Float = 0
    for i in weights.values.indices {
        penalty += weights.values[i] * weights.values[i]
        gradient.values[i] += lambda * weights.values[i]
    }
    return 0.5 * lambda * penalty
}

@inline(__always)
func softplus(_ x: Float) -> Float {
    x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))
}

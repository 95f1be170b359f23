import Foundation

/// Which inputs reach the fusion model; the others are zeroed (used for the ablation).
public enum Modalities: String, Codable, Sendable, CaseIterable {
    case text, cover, both

    var usesText: Bool { self != .cover }
    var usesCover: Bool { self != .text }
}

public enum Objective: String, Codable, Sendable, CaseIterable {
    /// The original design's mean squared error on ratings mapped to [0, 1].
    case mse
    /// Bayesian personalised ranking: a rated book should outscore a random unrated one.
    case bpr
}

/// Everything that shapes a model and its training; stored with each generation.
public struct ModelConfiguration: Codable, Equatable, Sendable {
    /// d: width of t′ and v′. Its half, the content factors, is what places a new book.
    public var fusedDimension = 1024
    /// k: width of reader and item vectors; the first d/2 are content factors (see
    /// ModelParameters.init), the rest collaborative (iALS's factors at the start).
    public var factors = 640
    public var objective = Objective.bpr
    public var modalities = Modalities.both
    /// false fixes every p_u at 0: the original design's non-personal ranking.
    public var personalised = true
    /// Adds a per-book collaborative part (e_b, β_b) for books that have ratings, started as
    /// iALS's book factors; a book without ratings takes its nearest rated books' by content
    /// (`ItemSide.placeByContent`).
    public var collaborativeResidual = true
    /// Probability that a training example drops the residual, so that the content path must
    /// explain ratings on its own and stays good for cold start.
    public var residualDropout: Float = 0.5
    /// Epochs of BPR after the closed-form start. 0: on validation, training from the iALS start
    /// lowered both protocols (docs/EVALUATION.md).
    public var epochs = 0
    public var batchSize = 65536
    /// Adam's rate for the dense weights.
    public var learningRate: Float = 0.003
    /// SGD's rate for reader vectors and residuals, per example.
    public var sparseLearningRate: Float = 0.05
    /// Passes of per-example SGD over the reader and residual rows after each epoch's dense steps.
    public var sparsePasses = 0
    public var readerRegularization: Float = 0.01
    public var residualRegularization: Float = 0.01
    public var weightRegularization: Float = 0.0001
    /// Ridge penalty of the closed-form fold-in of a reader.
    public var foldInRegularization: Float = 2
    /// Norm of a reader's content factors at the start (their profile's direction). With
    /// `collaborativeScale` it sets how much a reader's content weighs against co-rating; 0.25
    /// against 1 was best on validation (docs/EVALUATION.md).
    public var profileScale: Float = 0.25
    /// Factor on a reader's collaborative factors at the start (iALS's reader factors).
    public var collaborativeScale: Float = 1
    /// The item-item part of the logit (EASE^R with the content factors in its Gram matrix);
    /// nil leaves it out. Part of the collaborative residual: without one there is none.
    public var itemItem: ItemItemConfiguration? = ItemItemConfiguration()
    public var seed: UInt64 = 42

    /// m = d/2: the factors that start as a projection of the text.
    public var contentFactors: Int { fusedDimension / 2 }

    /// iALS's hyper-parameters for the collaborative start, chosen on validation
    /// (docs/EVALUATION.md); its width is the model's collaborative factors.
    public var implicitALS: ImplicitALSConfiguration {
        var configuration = ImplicitALSConfiguration()
        configuration.factors = factors - contentFactors
        configuration.seed = seed &+ 2
        configuration.unobservedWeight = 0.05
        configuration.regularization = 0.001
        configuration.epochs = 8
        return configuration
    }

    public init() {}
}

/// The learned parameters of bookrec's model (the personalised model in docs/ARCHITECTURE.md).
///
/// ŷ_ub = σ(p_u · q_b + wᵀh_b + c + β_u) with q_b = P·h_b (+ e_b for books with ratings)
/// and h_b the co-attention fusion of t′ = ReLU(W_t t + b_t) and v′ = ReLU(W_v v + b_v).
public struct ModelParameters: Codable, Equatable, Sendable {
    public var textWeights: Matrix  // W_t, d × D_t
    public var textBias: [Float]  // b_t
    public var coverWeights: Matrix  // W_v, d × D_v
    public var coverBias: [Float]  // b_v
    public var projection: Matrix  // P, k × 2d
    public var head: [Float]  // w, 2d
    public var headBias: Float  // c
    public var readerVectors: Matrix  // p_u, readers × k
    public var readerBias: [Float]  // β_u
    public var residualVectors: Matrix  // e_b, books × (k − d/2): the collaborative factors only
    public var residualBias: [Float]  // β_b

    /// The content path starts as the content-only profile.
    ///
    /// With m = d/2, W_t = [G; −G] for a Gaussian (Johnson–Lindenstrauss) projection G (m × D_t)
    /// and b_t = 0, so t′ = [ReLU(Gt); ReLU(−Gt)] keeps the sign that a single ReLU would lose.
    /// b_v = 0 makes v′ = 0 for a book without a cover (most of them), so that t_fused = t′, and
    /// P = [I, −I] on t_fused gives the first m factors q_b = G t exactly: q_b · q_b′ ≈ t · t′,
    /// the similarity of hashed texts. The Trainer then replaces G with the principal directions
    /// of the readers' profiles (`principalProfileDirections`), which keep more of that similarity
    /// where readers' tastes differ. W_v starts small so that covers only nudge it. The other k − m
    /// factors, and the per-book residual e_b that lives in them only, are the collaborative part:
    /// small random reader factors and zero items here, which the Trainer replaces with iALS's
    /// factors (`startCollaborativeFactorsFromImplicitALS`) when the model has a residual.
    public init(configuration: ModelConfiguration, textDimension: Int, coverDimension: Int, readers: Int, books: Int) {
        var generator = SeededGenerator(seed: configuration.seed)
        let d = configuration.fusedDimension, k = configuration.factors
        let m = configuration.contentFactors
        precondition(d % 2 == 0 && k >= m, "d must be even and k at least d/2")
        let gaussian = Matrix(
            rows: m, columns: textDimension,
            values: (0..<(m * textDimension)).map { _ in generator.nextGaussian() / Float(m).squareRoot() })
        textWeights = Self.signedPair(gaussian)
        textBias = [Float](repeating: 0, count: d)
        coverWeights = Matrix(
            rows: d, columns: coverDimension,
            values: (0..<(d * coverDimension)).map { _ in generator.nextGaussian() * 0.1 / Float(max(coverDimension, 1)).squareRoot() })
        coverBias = [Float](repeating: 0, count: d)
        projection = Matrix(rows: k, columns: 2 * d)
        for f in 0..<m {
            projection[f, f] = 1
            projection[f, m + f] = -1
        }
        head = [Float](repeating: 0, count: 2 * d)
        headBias = 0
        let readerScale: Float = configuration.personalised ? 0.1 : 0
        readerVectors = Matrix(rows: readers, columns: k)
        for u in 0..<readers {
            for f in m..<k { readerVectors[u, f] = generator.nextGaussian() * readerScale }
        }
        readerBias = [Float](repeating: 0, count: readers)
        residualVectors = Matrix(rows: books, columns: k - m)
        residualBias = [Float](repeating: 0, count: books)
    }

    /// Starts the collaborative factors as iALS (`ImplicitALS`, closed-form alternating least
    /// squares on who rated what, configured by `ModelConfiguration.implicitALS`): the residuals
    /// e_b are its book factors and every reader's collaborative factors its reader factors times
    /// `scale`, so that the untrained collaborative part ranks as iALS does. `solveRound` runs
    /// iALS's rounds elsewhere (the pipeline runs them on the workers); nil solves them here.
    public mutating func startCollaborativeFactorsFromImplicitALS(
        interactions: Interactions, configuration: ImplicitALSConfiguration, scale: Float, solveRound: ImplicitALS.RoundSolver? = nil
    ) throws {
        let r = residualVectors.columns, m = residualOffset
        guard r > 0 else { return }
        precondition(configuration.factors == r, "iALS of width \(configuration.factors) for \(r) collaborative factors")
        let model = try ImplicitALS(interactions: interactions, configuration: configuration, solveRound: solveRound)
        residualVectors = model.bookFactors
        for u in 0..<interactions.readers {
            for f in 0..<r { readerVectors[u, m + f] = scale * model.readerFactors[u, f] }
        }
    }

    /// Starts the rating objective at the bias model (`RatingBiases`) on the logit scale, with
    /// every reader vector at 0, so that training starts where the bias model ends instead of
    /// from logits that the ranking starts (norms 20 and 5) would saturate. c + β_u + β_b starts
    /// as the bias model linearised at the mean rating (σ(c) = the mean mapped to [0, 1]), then
    /// `refinements` rounds of Gauss–Newton steps on the books' and the readers' biases fit the
    /// sigmoid itself, with the bias model's ridge carried over to the logit scale.
    public mutating func startAtTheBiasModel(_ interactions: Interactions, refinements: Int = 10) {
        let biases = RatingBiases(interactions)
        let meanTarget = min(max(normalizedRating(biases.mean), 0.01), 0.99)
        let slopeAtMean = meanTarget * (1 - meanTarget)
        headBias = log(meanTarget / (1 - meanTarget))
        readerBias = biases.reader.map { $0 / (4 * slopeAtMean) }
        residualBias = biases.book.map { $0 / (4 * slopeAtMean) }
        readerVectors = Matrix(rows: readerVectors.rows, columns: readerVectors.columns)
        let ridge = RatingBiases.defaultRegularization * slopeAtMean * slopeAtMean
        for _ in 0..<refinements {
            for updatesBooks in [true, false] {
                var steps = [Float](repeating: 0, count: updatesBooks ? interactions.books : interactions.readers)
                var curvature = steps
                for i in 0..<interactions.count {
                    let u = Int(interactions.reader[i]), b = Int(interactions.book[i])
                    let prediction = sigmoid(headBias + readerBias[u] + residualBias[b])
                    let slope = prediction * (1 - prediction)
                    let row = updatesBooks ? b : u
                    steps[row] += (normalizedRating(interactions.rating[i]) - prediction) * slope
                    curvature[row] += slope * slope
                }
                if updatesBooks {
                    for b in steps.indices { residualBias[b] += (steps[b] - ridge * residualBias[b]) / (curvature[b] + ridge) }
                } else {
                    for u in steps.indices { readerBias[u] += (steps[u] - ridge * readerBias[u]) / (curvature[u] + ridge) }
                }
            }
        }
    }

    /// The first factor that the collaborative residual e_b adds to.
    var residualOffset: Int { projection.rows - residualVectors.columns }

    /// Sets the content factors of every reader to the mean content factors of the books they
    /// liked (`Interactions.likedBooks`), so that the untrained model ranks like the content-only
    /// profile. `content` is the item side without residuals.
    public mutating func startReadersAtTheirProfiles(content: ItemSide, likedBooks: [[Int]], scale: Float) {
        let m = residualOffset
        for (u, books) in likedBooks.enumerated() where !books.isEmpty {
            var profile = [Float](repeating: 0, count: m)
            for b in books {
                for f in 0..<m { profile[f] += content.vectors[b, f] }
            }
            normalize(&profile)
            for f in 0..<m { readerVectors[u, f] = scale * profile[f] }
        }
    }

    /// Replaces the random projection G in W_t = [G; −G] with `directions` (m × D_t).
    mutating func startTextProjection(_ directions: Matrix) {
        precondition(directions.rows * 2 == textWeights.rows && directions.columns == textWeights.columns)
        textWeights = Self.signedPair(directions)
    }

    /// [G; −G]: t′ = ReLU of it keeps both signs of G t.
    private static func signedPair(_ g: Matrix) -> Matrix {
        Matrix(rows: 2 * g.rows, columns: g.columns, values: g.values + g.values.map { -$0 })
    }
}

/// What the model makes of a set of books: h_b, q_b and the book term wᵀh_b + c.
public struct ItemSide: Sendable {
    public var fused: Matrix  // h_b, books × 2d
    public var vectors: Matrix  // q_b, books × k
    public var bookTerms: [Float]  // wᵀh_b + c (+ β_b)

    public init(fused: Matrix, vectors: Matrix, bookTerms: [Float]) {
        self.fused = fused
        self.vectors = vectors
        self.bookTerms = bookTerms
    }

    /// The item side as stored (q_b and book terms), which is all that scoring and fold-in read.
    public init(vectors: [[Float]], bookTerms: [Float]) {
        self.init(
            fused: Matrix(rows: vectors.count, columns: 0), vectors: Matrix(stacking: vectors, columns: vectors.first?.count ?? 0),
            bookTerms: bookTerms)
    }
}

/// The intermediate values of the item forward pass that the backward pass needs.
struct ItemForward {
    var projectedText: Matrix  // t′, books × d
    var projectedCover: Matrix  // v′, books × d
    var attention: [CoAttention]
    var side: ItemSide
}

extension ModelParameters {
    /// Forward pass for some books (content only; residuals are added by the caller). The
    /// attention matrices, 2d² floats per book with a cover, are kept only for a backward pass.
    func itemForward(_ features: BookFeatures, books: [Int], modalities: Modalities, keepingAttention: Bool = true) -> ItemForward {
        let projectedText = relu(affine(features.text, books, textWeights, textBias, enabled: modalities.usesText))
        let projectedCover = relu(affine(features.cover, books, coverWeights, coverBias, enabled: modalities.usesCover))
        let d = textBias.count
        var attention = [CoAttention]()
        attention.reserveCapacity(books.count)
        var fused = Matrix(rows: books.count, columns: 2 * d)
        for b in 0..<books.count {
            if keepingAttention {
                let pair = CoAttention(text: projectedText.row(b), cover: projectedCover.row(b))
                fused.setRow(b, pair.fused)
                attention.append(pair)
            } else {
                fused.setRow(b, CoAttention.fused(text: projectedText.row(b), cover: projectedCover.row(b)))
            }
        }
        let vectors = multiply(fused, projection, transposeB: true)
        var bookTerms = [Float](repeating: headBias, count: books.count)
        for b in 0..<books.count {
            var term: Float = 0
            for j in 0..<(2 * d) { term += head[j] * fused[b, j] }
            bookTerms[b] += term
        }
        return ItemForward(
            projectedText: projectedText, projectedCover: projectedCover, attention: attention,
            side: ItemSide(fused: fused, vectors: vectors, bookTerms: bookTerms))
    }

    /// q_b and book terms for scoring; `residualRows[i]` names the residual row of book i, or nil
    /// for a book the model has no ratings for.
    public func itemSide(_ features: BookFeatures, modalities: Modalities, residualRows: [Int?]) -> ItemSide {
        var side = itemForward(features, books: Array(0..<features.count), modalities: modalities, keepingAttention: false).side
        let k = projection.rows
        let offset = residualOffset
        for (b, row) in residualRows.enumerated() {
            guard let row else { continue }
            for f in offset..<k { side.vectors[b, f] += residualVectors[row, f - offset] }
            side.bookTerms[b] += residualBias[row]
        }
        return side
    }

    /// W x + b for the given rows of `inputs`, or just b when the modality is switched off.
    private func affine(_ inputs: SparseRows, _ books: [Int], _ weights: Matrix, _ bias: [Float], enabled: Bool) -> Matrix {
        guard enabled else {
            return Matrix(rows: books.count, columns: bias.count, values: Array(Array(repeating: bias, count: books.count).joined()))
        }
        return inputs.project(books, transposedWeights: weights.transposed.values, bias: bias)
    }
}

func relu(_ m: Matrix) -> Matrix {
    Matrix(rows: m.rows, columns: m.columns, values: m.values.map { max($0, 0) })
}

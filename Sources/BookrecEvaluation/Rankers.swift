import BookrecCore
import Foundation

/// Anything that scores every book for a batch of readers (dense reader indices).
public protocol Ranker {
    var name: String { get }
    /// readers × books scores; higher is better.
    func scores(readers: [Int]) -> Matrix
    /// A predicted rating on the 1…5 scale, for the models that make one.
    func predictedRating(reader: Int, book: Int) -> Double?
}

extension Ranker {
    public func predictedRating(reader: Int, book: Int) -> Double? { nil }
}

/// The same list for everyone: books by number of training ratings.
public struct PopularityRanker: Ranker {
    public let name = "popularity"
    let counts: [Float]
    public init(_ data: IndexedData) {
        counts = data.interactions.ratingCounts().map(Float.init)
    }
    public func scores(readers: [Int]) -> Matrix {
        Matrix(rows: readers.count, columns: counts.count, values: Array(Array(repeating: counts, count: readers.count).joined()))
    }
}

/// Random scores from a fixed seed, the floor of the cold protocol.
public struct RandomRanker: Ranker {
    public let name = "random"
    let books: Int
    let seed: UInt64
    public init(books: Int, seed: UInt64) {
        self.books = books
        self.seed = seed
    }
    public func scores(readers: [Int]) -> Matrix {
        var generator = SeededGenerator(seed: seed &+ UInt64(readers.first ?? 0))
        return Matrix(rows: readers.count, columns: books, values: (0..<(readers.count * books)).map { _ in Float.random(in: 0..<1, using: &generator) })
    }
}

/// The bias model (`RatingBiases`); ranks by b_b.
public struct BiasRanker: Ranker {
    public let name = "bias model"
    let biases: RatingBiases

    public init(_ data: IndexedData) {
        biases = RatingBiases(data.interactions)
    }

    public func scores(readers: [Int]) -> Matrix {
        Matrix(rows: readers.count, columns: biases.book.count, values: Array(Array(repeating: biases.book, count: readers.count).joined()))
    }

    public func predictedRating(reader: Int, book: Int) -> Double? {
        Double(biases.predictedRating(reader: reader, book: book))
    }
}

/// Matrix factorisation trained with BPR by SGD, with an item bias: the collaborative baseline.
public struct BPRMatrixFactorization: Ranker {
    public let name = "BPR-MF"
    let readers: Matrix
    let scorer: Scorer

    public init(_ data: IndexedData, factors: Int = 64, epochs: Int = 30, learningRate: Float = 0.05, regularization: Float = 0.005, seed: UInt64) {
        let ix = data.interactions
        var generator = SeededGenerator(seed: seed)
        var p = Matrix(rows: ix.readers, columns: factors, values: (0..<(ix.readers * factors)).map { _ in generator.nextGaussian() * 0.1 })
        var q = Matrix(rows: ix.books, columns: factors, values: (0..<(ix.books * factors)).map { _ in generator.nextGaussian() * 0.1 })
        var bias = [Float](repeating: 0, count: ix.books)
        var order = Array(0..<ix.count)
        for _ in 0..<epochs {
            order.shuffle(using: &generator)
            for i in order {
                let u = Int(ix.reader[i]), a = Int(ix.book[i])
                let b = ix.sampleNegative(for: u, using: &generator)
                p.values.withUnsafeMutableBufferPointer { pv in
                    q.values.withUnsafeMutableBufferPointer { qv in
                        let pu = pv.baseAddress! + u * factors, qa = qv.baseAddress! + a * factors, qb = qv.baseAddress! + b * factors
                        var margin = bias[a] - bias[b]
                        for f in 0..<factors { margin += pu[f] * (qa[f] - qb[f]) }
                        let g = 1 - sigmoid(margin)  // ascent on log σ(margin)
                        for f in 0..<factors {
                            let pf = pu[f]
                            pu[f] += learningRate * (g * (qa[f] - qb[f]) - regularization * pf)
                            qa[f] += learningRate * (g * pf - regularization * qa[f])
                            qb[f] += learningRate * (-g * pf - regularization * qb[f])
                        }
                        bias[a] += learningRate * (g - regularization * bias[a])
                        bias[b] += learningRate * (-g - regularization * bias[b])
                    }
                }
            }
        }
        readers = p
        scorer = Scorer(side: ItemSide(fused: Matrix(rows: ix.books, columns: 0), vectors: q, bookTerms: bias), bookIDs: data.bookIDs)
    }

    public func scores(readers batch: [Int]) -> Matrix {
        scorer.logits(readers: readers.gathering(rows: batch), readerBias: [Float](repeating: 0, count: batch.count), slots: batch)
    }
}

/// A reader's profile is the mean content vector of the books they rated 4 or more (all their
/// books if none); books are ranked by cosine with it. No collaborative signal at all.
public struct ContentProfileRanker: Ranker {
    public let name = "content-only profile"
    let content: Matrix  // books × D, rows L2-normalised
    let likedBooks: [[Int]]

    public init(_ data: IndexedData, content: Matrix) {
        self.content = content.rowsNormalized
        likedBooks = data.interactions.likedBooks()
    }

    public func scores(readers: [Int]) -> Matrix {
        var profiles = Matrix(rows: readers.count, columns: content.columns)
        for (r, reader) in readers.enumerated() {
            var profile = [Float](repeating: 0, count: content.columns)
            for b in likedBooks[reader] {
                for j in 0..<content.columns { profile[j] += content[b, j] }
            }
            normalize(&profile)
            profiles.setRow(r, profile)
        }
        return multiply(profiles, content, transposeB: true)
    }
}

/// bookrec's model: logits p_u·q_b + wᵀh_b + c (+ β_u for ratings) + the item-item term.
public struct BookrecRanker: Ranker {
    public let name: String
    public private(set) var configuration: ModelConfiguration
    let parameters: ModelParameters
    let scorer: Scorer
    private(set) var itemItem: ItemItemTerm?
    let ratings: [[Rating]]

    public init(
        name: String, configuration: ModelConfiguration, placement: ContentPlacement = ContentPlacement(), data: IndexedData,
        features: BookFeatures, log: (String) -> Void = { _ in }
    ) throws {
        self.name = name
        self.configuration = configuration
        let started = Date()
        parameters = try Trainer(configuration: configuration).train(features: features, interactions: data.interactions) { epoch, loss in
            log(String(format: "  %@: epoch %d loss %.4f (%.0f s)", name, epoch, loss, Date().timeIntervalSince(started)))
        }
        let model = try parameters.scoringModel(
            features, configuration: configuration, interactions: data.interactions, bookIDs: data.bookIDs, placement: placement)
        scorer = Scorer(side: model.side, bookIDs: data.bookIDs)
        itemItem = model.itemItem.map { ItemItemTerm(weights: $0, columns: data.bookIDs) }
        let ix = data.interactions
        var ratings = [[Rating]](repeating: [], count: ix.readers)
        for i in 0..<ix.count {
            ratings[Int(ix.reader[i])].append(Rating(user: Int(ix.reader[i]), book: data.bookIDs[Int(ix.book[i])], rating: Int(ix.rating[i])))
        }
        self.ratings = ratings
    }

    public func scores(readers: [Int]) -> Matrix {
        scorer.logits(
            readers: parameters.readerVectors.gathering(rows: readers), readerBias: readers.map { parameters.readerBias[$0] }, slots: readers,
            adding: itemItem.map { term in { r, logits in term.add(ratings: ratings[readers[r]], to: logits) } })
    }

    /// The same model with another weight of its item-item term.
    public func withItemItemScale(_ scale: Float) -> BookrecRanker {
        var copy = self
        copy.configuration.itemItem?.scale = scale
        copy.itemItem = itemItem?.rescaled(scale)
        return copy
    }

    public func predictedRating(reader: Int, book: Int) -> Double? {
        guard configuration.objective == .mse else { return nil }
        var logit = scorer.bookTerm(book) + parameters.readerBias[reader]
        for (f, q) in scorer.itemVector(book).enumerated() { logit += parameters.readerVectors[reader, f] * q }
        return 1 + 4 * Double(sigmoid(logit))
    }
}

import BookrecCore
import Foundation

/// Scores a reader's books by Σ over the books they rated of a sparse item-item similarity: each
/// book keeps its `neighbourCount` most similar books. Item-kNN and RP3beta differ only in the
/// similarity.
struct ItemNeighbours {
    let neighbours: [[(book: Int32, similarity: Float)]]
    let booksByReader: [[Int32]]

    /// `similarity(a, b, coRating)` turns the weighted co-rating count of books a and b into
    /// their similarity; `readerWeight(u)` weighs each reader's co-ratings.
    init(_ ix: Interactions, neighbourCount: Int, readerWeight: (Int) -> Float,
         similarity: (_ a: Int, _ b: Int, _ coRating: Float) -> Float) {
        let n = ix.books
        var cooccurrence = [Float](repeating: 0, count: n * n)
        cooccurrence.withUnsafeMutableBufferPointer { counts in
            for (reader, list) in ix.booksByReader.enumerated() {
                let weight = readerWeight(reader)
                for a in list {
                    let row = Int(a) * n
                    for b in list where b != a { counts[row + Int(b)] += weight }
                }
            }
        }
        var neighbours = [[(book: Int32, similarity: Float)]](repeating: [], count: n)
        for a in 0..<n {
            var row: [(book: Int32, similarity: Float)] = []
            for b in 0..<n where cooccurrence[a * n + b] > 0 {
                row.append((Int32(b), similarity(a, b, cooccurrence[a * n + b])))
            }
            row.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.book < $1.book }
            neighbours[a] = Array(row.prefix(neighbourCount))
        }
        self.neighbours = neighbours
        booksByReader = ix.booksByReader
    }

    func scores(readers: [Int]) -> Matrix {
        var result = Matrix(rows: readers.count, columns: neighbours.count)
        for (r, reader) in readers.enumerated() {
            for a in booksByReader[reader] {
                for (b, similarity) in neighbours[Int(a)] { result[r, Int(b)] += similarity }
            }
        }
        return result
    }
}

/// Item-based k nearest neighbours on binary co-rating, cosine similarity.
public struct ItemKNNRanker: Ranker {
    public let name = "item-kNN"
    let neighbours: ItemNeighbours

    public init(_ data: IndexedData, neighbourCount: Int = 100) {
        let norms = data.interactions.ratingCounts().map { Float($0).squareRoot() }
        neighbours = ItemNeighbours(data.interactions, neighbourCount: neighbourCount, readerWeight: { _ in 1 }) { a, b, coRating in
            coRating / (norms[a] * norms[b])
        }
    }

    public func scores(readers: [Int]) -> Matrix { neighbours.scores(readers: readers) }
}

/// RP3beta (Paudel et al. 2017): the three-step random walk reader → book → reader → book, its
/// transition probabilities raised to α, divided by the target book's popularity to the power β:
/// W_ab = deg(a)^−α Σ_u deg(u)^−α x_ua x_ub / deg(b)^β, the `neighbourCount` largest per book.
public struct RP3betaRanker: Ranker {
    public let name = "RP3beta"
    let neighbours: ItemNeighbours

    public init(_ data: IndexedData, alpha: Float, beta: Float, neighbourCount: Int) {
        let ix = data.interactions
        let bookDegree = ix.ratingCounts().map { Float(max($0, 1)) }
        let readerDegree = ix.booksByReader.map { Float(max($0.count, 1)) }
        neighbours = ItemNeighbours(ix, neighbourCount: neighbourCount, readerWeight: { pow(readerDegree[$0], -alpha) }) { a, b, coRating in
            pow(bookDegree[a], -alpha) * coRating / pow(bookDegree[b], beta)
        }
    }

    public func scores(readers: [Int]) -> Matrix { neighbours.scores(readers: readers) }
}

/// EASE^R (`BookrecCore.EASE`) with its λ. A reader's row of X weighs each rated book by its
/// rating: 1 for 4 or 5, `neutralWeight` for 3, `dislikedWeight` for 1 or 2 (all 1: the binary X
/// of the paper; relevance in this evaluation is a rating of 4 or more).
public struct EASERanker: Ranker {
    public let name = "EASE^R"
    let model: EASE
    let ratedBooks: [[(book: Int32, weight: Float)]]

    public init(_ data: IndexedData, regularization: Float, neutralWeight: Float = 1, dislikedWeight: Float = 1) throws {
        try self.init(data, model: EASE(interactions: data.interactions, regularization: regularization), neutralWeight: neutralWeight, dislikedWeight: dislikedWeight)
    }

    /// The same weights B with other rating weights.
    public init(_ data: IndexedData, model: EASE, neutralWeight: Float, dislikedWeight: Float) {
        self.model = model
        let ix = data.interactions
        var rated = [[(book: Int32, weight: Float)]](repeating: [], count: ix.readers)
        for i in 0..<ix.count {
            let weight = ItemItemConfiguration.readerWeight(rating: ix.rating[i], neutral: neutralWeight, disliked: dislikedWeight)
            rated[Int(ix.reader[i])].append((ix.book[i], weight))
        }
        ratedBooks = rated
    }

    public func scores(readers: [Int]) -> Matrix {
        let n = model.weights.columns
        var result = Matrix(rows: readers.count, columns: n)
        result.values.withUnsafeMutableBufferPointer { all in
            model.weights.values.withUnsafeBufferPointer { w in
                for (r, reader) in readers.enumerated() {
                    let out = all.baseAddress! + r * n
                    for (book, weight) in ratedBooks[reader] where weight != 0 {
                        let row = w.baseAddress! + Int(book) * n
                        for j in 0..<n { out[j] += weight * row[j] }
                    }
                }
            }
        }
        return result
    }
}

/// iALS (`BookrecCore.ImplicitALS`): scores are w_u·h_b.
public struct ImplicitALSRanker: Ranker {
    public let name = "iALS"
    public let model: ImplicitALS

    public init(_ data: IndexedData, configuration: ImplicitALSConfiguration) throws {
        model = try ImplicitALS(interactions: data.interactions, configuration: configuration)
    }

    public func scores(readers: [Int]) -> Matrix {
        multiply(model.readerFactors.gathering(rows: readers), model.bookFactors, transposeB: true)
    }
}

/// A content→collaborative baseline for new books (CB2CF-style): a book without training ratings
/// is scored by the collaborative scores of its `neighbourCount` nearest books by content (cosine,
/// among books with ratings), weighted by similarity, or, given a `ridge`, by the kernel ridge
/// weights bookrec places new books with (`ridgeWeightedNeighbours`); books with ratings keep
/// their own scores.
public struct ContentToCollaborativeRanker: Ranker {
    public let name: String
    let collaborative: Ranker
    /// For each book without ratings, its neighbours among books with ratings and their weights.
    let placements: [(book: Int, neighbours: [(book: Int, weight: Float)])]

    public init(_ data: IndexedData, content: Matrix, collaborative: Ranker, neighbourCount: Int, ridge: Float? = nil) {
        name = "content→collaborative (\(collaborative.name))"
        self.collaborative = collaborative
        let normalised = content.rowsNormalized
        let counts = data.interactions.ratingCounts()
        let unrated = counts.indices.filter { counts[$0] == 0 }
        let rated = counts.indices.filter { counts[$0] > 0 }
        let ratedContent = normalised.gathering(rows: rated)
        let similarities = multiply(normalised.gathering(rows: unrated), ratedContent, transposeB: true)
        placements = unrated.enumerated().map { u, book in
            let neighbours = ridge.map { ridgeWeightedNeighbours(similarities, row: u, factors: ratedContent, count: neighbourCount, ridge: $0) }
                ?? similarityWeightedNeighbours(similarities, row: u, count: neighbourCount)
            return (book, neighbours.map { (book: rated[$0.column], weight: $0.weight) })
        }
    }

    public func scores(readers: [Int]) -> Matrix {
        var scores = collaborative.scores(readers: readers)
        let n = scores.columns
        scores.values.withUnsafeMutableBufferPointer { all in
            for r in 0..<readers.count {
                let row = all.baseAddress! + r * n
                for placement in placements {
                    var score: Float = 0
                    for neighbour in placement.neighbours { score += neighbour.weight * row[neighbour.book] }
                    row[placement.book] = score
                }
            }
        }
        return scores
    }
}

/// Biased matrix factorisation for ratings (Funk SVD): r̂ = μ + b_u + b_b + p_u·q_b, fitted by SGD
/// on the squared error with L2 regularisation. Ranks by the predicted rating.
public struct BiasedMFRanker: Ranker {
    public let name = "biased MF (Funk SVD)"
    let mean: Float
    let readerBias: [Float], bookBias: [Float]
    let readers: Matrix, books: Matrix

    public init(_ data: IndexedData, factors: Int = 64, epochs: Int = 25, learningRate: Float = 0.007, regularization: Float, seed: UInt64) {
        let ix = data.interactions
        var generator = SeededGenerator(seed: seed)
        let mean = ix.rating.reduce(0, +) / Float(max(ix.count, 1))
        self.mean = mean
        var bu = [Float](repeating: 0, count: ix.readers), bi = [Float](repeating: 0, count: ix.books)
        var p = Matrix(rows: ix.readers, columns: factors, values: (0..<(ix.readers * factors)).map { _ in generator.nextGaussian() * 0.05 })
        var q = Matrix(rows: ix.books, columns: factors, values: (0..<(ix.books * factors)).map { _ in generator.nextGaussian() * 0.05 })
        var order = Array(0..<ix.count)
        for _ in 0..<epochs {
            order.shuffle(using: &generator)
            p.values.withUnsafeMutableBufferPointer { pv in
                q.values.withUnsafeMutableBufferPointer { qv in
                    for i in order {
                        let u = Int(ix.reader[i]), b = Int(ix.book[i])
                        let pu = pv.baseAddress! + u * factors, qb = qv.baseAddress! + b * factors
                        var prediction = mean + bu[u] + bi[b]
                        for f in 0..<factors { prediction += pu[f] * qb[f] }
                        let error = ix.rating[i] - prediction
                        bu[u] += learningRate * (error - regularization * bu[u])
                        bi[b] += learningRate * (error - regularization * bi[b])
                        for f in 0..<factors {
                            let pf = pu[f]
                            pu[f] += learningRate * (error * qb[f] - regularization * pf)
                            qb[f] += learningRate * (error * pf - regularization * qb[f])
                        }
                    }
                }
            }
        }
        readerBias = bu
        bookBias = bi
        readers = p
        books = q
    }

    public func scores(readers batch: [Int]) -> Matrix {
        var scores = multiply(readers.gathering(rows: batch), books, transposeB: true)
        for r in 0..<batch.count {
            for b in 0..<books.rows { scores[r, b] += bookBias[b] }
        }
        return scores
    }

    public func predictedRating(reader: Int, book: Int) -> Double? {
        var prediction = mean + readerBias[reader] + bookBias[book]
        for f in 0..<readers.columns { prediction += readers[reader, f] * books[book, f] }
        return Double(min(max(prediction, 1), 5))
    }
}

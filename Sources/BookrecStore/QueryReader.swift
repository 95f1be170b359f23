import BookrecCore
import Foundation
import GRDB

/// An error a query reports to its user: an unknown reader or book, or no active generation.
public struct QueryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Read-only access to one generation for `bookrec-query` and the HTTP service: queries see a
/// generation only once it is complete, and always all of it.
public final class QueryReader: Sendable {
    public let store: Store
    public let generationID: Int

    /// Reads the store's active generation.
    public convenience init(store: Store) throws {
        guard let active = try store.activeGenerationID() else {
            throw QueryError("no generation is active in \(store.location) yet; run `bookrec-coordinator run`")
        }
        self.init(store: store, generationID: active)
    }

    public init(store: Store, generationID: Int) {
        self.store = store
        self.generationID = generationID
    }

    public func book(_ id: Int) throws -> Book {
        guard let book = try store.books(ids: [id]).first else { throw QueryError("unknown book \(id)") }
        return book
    }

    public func recommendations(user: Int, k: Int) throws -> [StoredRecommendation] {
        let list = try store.recommendations(generationID: generationID, userID: user, limit: k)
        if list.isEmpty {
            throw QueryError("unknown reader \(user): no recommendations in generation \(generationID)")
        }
        return list
    }

    /// The generation's book vectors in memory, for `similar` and `rank`.
    public func bookVectors() throws -> BookVectorIndex {
        try BookVectorIndex(store: store, generationID: generationID)
    }

    /// ŷ_ub = σ(p_u · q_b + term_b + β_u + the item-item term) for any candidate books.
    public func rank(user: Int, books candidates: [Int], vectors: BookVectorIndex) throws -> [(bookID: Int, score: Float)] {
        let scorer = PairScorer(store: store, vectors: vectors)
        return try candidates.map { ($0, try scorer.score(user: user, book: $0)) }
    }
}

/// One generation's book vectors q_b, terms and item-item weights, loaded once and never changed:
/// the HTTP service holds one per served generation and shares it between requests.
public final class BookVectorIndex: Sendable {
    /// Books per block of cosines: `similar` computes the cosines of a whole block of books
    /// against every book in one sgemm, whether it wants one book's (the CLI) or every book's
    /// (the service, when it loads a generation), so the two agree to the bit.
    static let blockSize = 256
    /// How many nearest books the service keeps per book; larger k are computed per request.
    public static let precomputedNeighbours = 100

    public let generationID: Int
    public let bookIDs: [Int]
    let vectors: [[Float]]
    let terms: [Float]
    let position: [Int: Int]
    /// Every book vector scaled to length 1 (0 stays 0), for cosines.
    let unitVectors: Matrix
    let itemItem: ItemItemTerm?
    /// Each book's nearest books, when precomputed: position → the first `precomputedNeighbours`.
    let neighbours: [[ScoredBook]]?

    public init(store: Store, generationID: Int, precomputingNeighbours: Bool = false) throws {
        self.generationID = generationID
        let loaded = try store.bookVectors(generationID: generationID)
        bookIDs = loaded.ids
        vectors = loaded.vectors
        terms = loaded.terms
        position = Dictionary(uniqueKeysWithValues: loaded.ids.enumerated().map { ($1, $0) })
        unitVectors = Matrix(stacking: loaded.vectors, columns: loaded.vectors.first?.count ?? 0).rowsNormalized
        itemItem = try store.itemItemWeights(generationID: generationID).map { ItemItemTerm(weights: $0, columns: loaded.ids) }
        guard precomputingNeighbours else {
            neighbours = nil
            return
        }
        var all: [[ScoredBook]] = []
        all.reserveCapacity(loaded.ids.count)
        for block in 0..<(loaded.ids.count + Self.blockSize - 1) / Self.blockSize {
            let cosines = Self.cosines(unitVectors, block: block)
            for row in 0..<cosines.rows {
                all.append(Self.nearest(cosines, row: row, position: block * Self.blockSize + row, k: Self.precomputedNeighbours, bookIDs: loaded.ids))
            }
        }
        neighbours = all
    }

    public func contains(book: Int) -> Bool { position[book] != nil }

    /// The k books whose item vectors q_b have the highest cosine with the book's; ties by id.
    public func similar(book: Int, k: Int) throws -> [(bookID: Int, similarity: Float)] {
        guard let index = position[book] else { throw QueryError("unknown book \(book)") }
        let top: [ScoredBook]
        if let neighbours, k <= Self.precomputedNeighbours {
            top = Array(neighbours[index].prefix(k))
        } else {
            let block = index / Self.blockSize
            top = Self.nearest(Self.cosines(unitVectors, block: block), row: index - block * Self.blockSize, position: index, k: k, bookIDs: bookIDs)
        }
        return top.map { (bookIDs[$0.book], $0.logit) }
    }

    /// The cosines of the books of one block with every book: (books in the block) × (all books).
    private static func cosines(_ unit: Matrix, block: Int) -> Matrix {
        let start = block * blockSize, end = min(start + blockSize, unit.rows)
        let rows = Matrix(rows: end - start, columns: unit.columns, values: Array(unit.values[(start * unit.columns)..<(end * unit.columns)]))
        return multiply(rows, unit, transposeB: true)
    }

    /// The k highest of one row of cosines, the book itself left out.
    private static func nearest(_ cosines: Matrix, row: Int, position: Int, k: Int, bookIDs: [Int]) -> [ScoredBook] {
        cosines.values.withUnsafeBufferPointer { all in
            let values = UnsafeBufferPointer(rebasing: all[(row * cosines.columns)..<((row + 1) * cosines.columns)])
            return TopKSelector(bookIDs: bookIDs).select(values, excluding: [Int32(position)], k: k)
        }
    }

    /// Of `candidates`, the book whose item vector has the highest cosine with `book`'s (ties by
    /// the lower id), with that cosine; nil when none of them or `book` has a vector.
    public func closest(to book: Int, among candidates: [Int]) -> (book: Int, similarity: Float)? {
        guard let i = position[book] else { return nil }
        let d = unitVectors.columns
        return unitVectors.values.withUnsafeBufferPointer { values in
            let target = UnsafeBufferPointer(rebasing: values[(i * d)..<((i + 1) * d)])
            var best: (book: Int, similarity: Float)?
            for candidate in candidates {
                guard let j = position[candidate] else { continue }
                let sum = dot(target, UnsafeBufferPointer(rebasing: values[(j * d)..<((j + 1) * d)]))
                if best == nil || sum > best!.similarity || (sum == best!.similarity && candidate < best!.book) { best = (candidate, sum) }
            }
            return best
        }
    }
}

/// Σ a_i b_i in eight lanes (a plain loop is not vectorised: the compiler keeps the order of a
/// float sum), then the lanes and the tail.
private func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
    var lanes = SIMD8<Float>()
    let whole = a.count / 8 * 8
    var f = 0
    while f < whole {
        lanes += SIMD8(a[f..<(f + 8)]) * SIMD8(b[f..<(f + 8)])
        f += 8
    }
    var sum = lanes.sum()
    while f < a.count {
        sum += a[f] * b[f]
        f += 1
    }
    return sum
}

/// Scores pairs from memory: every book vector and, on demand, each reader's vector.
public final class PairScorer {
    let store: Store
    let vectors: BookVectorIndex
    /// Each reader's vector, β_u and item-item term of every book (zero without the term).
    private var readers: [Int: (vector: [Float], bias: Float, itemItem: [Float])?] = [:]

    public init(store: Store, vectors: BookVectorIndex) {
        self.store = store
        self.vectors = vectors
    }

    public func score(user: Int, book: Int) throws -> Float {
        guard let index = vectors.position[book] else { throw QueryError("unknown book \(book)") }
        if readers[user] == nil {
            readers[user] = try store.readerVectors(generationID: vectors.generationID, userIDs: [user])[user].map { vector, bias in
                var term = [Float](repeating: 0, count: vectors.bookIDs.count)
                if let itemItem = vectors.itemItem {
                    let ratings = try store.ratings(userIDs: [user])[user] ?? []
                    term.withUnsafeMutableBufferPointer { itemItem.add(ratings: ratings, to: $0) }
                }
                return (vector, bias, term)
            }
        }
        guard let entry = readers[user], let (vector, bias, term) = entry else { throw QueryError("unknown reader \(user)") }
        var logit = vectors.terms[index] + bias
        let item = vectors.vectors[index]
        for f in 0..<item.count { logit += vector[f] * item[f] }
        return sigmoid(logit + term[index])
    }
}

import BookrecCore
import Foundation
import GRDB

/// An error a query reports to its user: an unknown reader or book, or no active generation.
public struct QueryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Read-only access to the active generation for `bookrec-query`: queries see a generation only
/// once it is complete, and always all of it.
public final class QueryReader {
    public let store: Store
    public let generationID: Int
    private var books: (ids: [Int], vectors: [[Float]], terms: [Float])?
    private var bookIndex: [Int: Int] = [:]
    /// Every book vector scaled to length 1 (0 stays 0), for `similar`.
    private var unitBookVectors: Matrix?

    public init(store: Store) throws {
        self.store = store
        guard let active = try store.activeGenerationID() else {
            throw QueryError("no generation is active in \(store.path) yet; run `bookrec-coordinator run`")
        }
        generationID = active
    }

    public func book(_ id: Int) throws -> Book {
        guard let book = try store.books(ids: [id]).first else { throw QueryError("unknown book \(id)") }
        return book
    }

    public func booksByID(_ ids: [Int]) throws -> [Int: Book] {
        Dictionary(uniqueKeysWithValues: try store.books(ids: ids).map { ($0.id, $0) })
    }

    public func recommendations(user: Int, k: Int) throws -> [StoredRecommendation] {
        let list = try store.recommendations(generationID: generationID, userID: user, limit: k)
        if list.isEmpty {
            throw QueryError("unknown reader \(user): no recommendations in generation \(generationID)")
        }
        return list
    }

    /// The k books whose item vectors q_b have the highest cosine with the book's.
    public func similar(book: Int, k: Int) throws -> [(bookID: Int, similarity: Float)] {
        try loadBooks()
        guard let index = bookIndex[book], let books else { throw QueryError("unknown book \(book)") }
        // Cosines of every book with this one: one matrix–vector product over the unit vectors.
        let unit = unitBookVectors!
        let scores = multiply(unit, Matrix(rows: unit.columns, columns: 1, values: unit.row(index)))
        let top = scores.values.withUnsafeBufferPointer { TopKSelector(bookIDs: books.ids).select($0, excluding: [Int32(index)], k: k) }
        return top.map { (books.ids[$0.book], $0.logit) }
    }

    /// ŷ_ub = σ(p_u · q_b + term_b + β_u + the item-item term) for any candidate books.
    public func rank(user: Int, books candidates: [Int]) throws -> [(bookID: Int, score: Float)] {
        let scorer = try pairScorer()
        return try candidates.map { ($0, try scorer.score(user: user, book: $0)) }
    }

    /// Scores pairs from memory: every book vector and, on demand, reader vectors.
    public func pairScorer() throws -> PairScorer {
        try loadBooks()
        return try PairScorer(reader: self)
    }

    public final class PairScorer {
        let reader: QueryReader
        let itemItem: ItemItemTerm?
        /// Each reader's vector, β_u and item-item term of every book (zero without the term).
        private var readers: [Int: (vector: [Float], bias: Float, itemItem: [Float])?] = [:]

        init(reader: QueryReader) throws {
            self.reader = reader
            itemItem = try reader.store.itemItemWeights(generationID: reader.generationID).map { ItemItemTerm(weights: $0, columns: reader.books!.ids) }
        }

        public func score(user: Int, book: Int) throws -> Float {
            guard let index = reader.bookIndex[book], let books = reader.books else { throw QueryError("unknown book \(book)") }
            if readers[user] == nil {
                readers[user] = try reader.store.readerVectors(generationID: reader.generationID, userIDs: [user])[user].map { vector, bias in
                    var term = [Float](repeating: 0, count: books.ids.count)
                    if let itemItem {
                        let ratings = try reader.store.ratings(userIDs: [user])[user] ?? []
                        term.withUnsafeMutableBufferPointer { itemItem.add(ratings: ratings, to: $0) }
                    }
                    return (vector, bias, term)
                }
            }
            guard let entry = readers[user], let (vector, bias, term) = entry else { throw QueryError("unknown reader \(user)") }
            var logit = books.terms[index] + bias
            let item = books.vectors[index]
            for f in 0..<item.count { logit += vector[f] * item[f] }
            return sigmoid(logit + term[index])
        }
    }

    private func loadBooks() throws {
        guard books == nil else { return }
        let loaded = try store.bookVectors(generationID: generationID)
        books = loaded
        bookIndex = Dictionary(uniqueKeysWithValues: loaded.ids.enumerated().map { ($1, $0) })
        unitBookVectors = Matrix(stacking: loaded.vectors, columns: loaded.vectors.first?.count ?? 0).rowsNormalized
    }
}

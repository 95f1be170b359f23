import BookrecCore
import Foundation
import GRDB

extension SQLiteStore {
    // MARK: Encoder cache

    /// Cached encoder outputs for these content hashes (those found).
    public func encodings(encoder: String, hashes: [String]) throws -> [String: [Float]] {
        try read { db in
            var found: [String: [Float]] = [:]
            let statement = try db.makeStatement(sql: "SELECT vector FROM encoding WHERE encoder = ? AND contentHash = ?")
            for hash in Set(hashes) {
                if let blob = try Data.fetchOne(statement, arguments: [encoder, hash]) { found[hash] = [Float](blob: blob) }
            }
            return found
        }
    }

    /// Stores encoder outputs and marks the encode shard done, in one transaction.
    public func completeEncodeShard(generationID: Int, index: Int, encodings: [(encoder: String, hash: String, vector: [Float])]) throws {
        try write("saving encodings of shard \(index)") { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO encoding (encoder, contentHash, vector) VALUES (?, ?, ?)")
            for entry in encodings { try statement.execute(arguments: [entry.encoder, entry.hash, entry.vector.blob]) }
            try Self.markShardDone(db, generationID: generationID, kind: .encode, index: index)
        }
    }

    // MARK: Book and reader vectors

    public func saveBookVectors(generationID: Int, _ vectors: [(bookID: Int, vector: [Float], term: Float)]) throws {
        try write("saving book vectors") { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO bookVector (generationId, bookId, vector, term) VALUES (?, ?, ?, ?)")
            for entry in vectors { try statement.execute(arguments: [generationID, entry.bookID, entry.vector.blob, Double(entry.term)]) }
        }
    }

    /// Every book's q_b and book term for a generation, ordered by book id.
    public func bookVectors(generationID: Int) throws -> (ids: [Int], vectors: [[Float]], terms: [Float]) {
        try read { db in
            var ids: [Int] = [], vectors: [[Float]] = [], terms: [Float] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT bookId, vector, term FROM bookVector WHERE generationId = ? ORDER BY bookId", arguments: [generationID])
            while let row = try rows.next() {
                ids.append(row["bookId"])
                vectors.append([Float](blob: row["vector"]))
                terms.append(Float(row["term"] as Double))
            }
            return (ids, vectors, terms)
        }
    }

    public func bookVector(generationID: Int, bookID: Int) throws -> (vector: [Float], term: Float)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT vector, term FROM bookVector WHERE generationId = ? AND bookId = ?", arguments: [generationID, bookID]).map {
                ([Float](blob: $0["vector"]), Float($0["term"] as Double))
            }
        }
    }

    /// Saves p_u and β_u, and the fingerprint of the ratings they were computed from
    /// (`ratingsFingerprint`), by which `add-ratings` finds readers whose ratings changed since.
    public func saveReaderVectors(generationID: Int, _ vectors: [(userID: Int, vector: [Float], bias: Float, ratingsHash: String)]) throws {
        try write("saving reader vectors") { db in
            let statement = try db.makeStatement(
                sql: "INSERT OR REPLACE INTO readerVector (generationId, userId, vector, bias, ratingsHash) VALUES (?, ?, ?, ?, ?)")
            for entry in vectors {
                try statement.execute(arguments: [generationID, entry.userID, entry.vector.blob, Double(entry.bias), entry.ratingsHash])
            }
        }
    }

    /// The readers with a vector in a generation and the fingerprints of the ratings behind them.
    public func readerRatingsHashes(generationID: Int) throws -> [Int: String] {
        try read { db in
            var result: [Int: String] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT userId, ratingsHash FROM readerVector WHERE generationId = ?", arguments: [generationID])
            while let row = try rows.next() { result[row["userId"]] = row["ratingsHash"] ?? "" }
            return result
        }
    }

    public func readerVectors(generationID: Int, userIDs: [Int]) throws -> [Int: (vector: [Float], bias: Float)] {
        try read { db in
            var result: [Int: (vector: [Float], bias: Float)] = [:]
            let statement = try db.makeStatement(sql: "SELECT vector, bias FROM readerVector WHERE generationId = ? AND userId = ?")
            for user in userIDs {
                if let row = try Row.fetchOne(statement, arguments: [generationID, user]) {
                    result[user] = ([Float](blob: row["vector"]), Float(row["bias"] as Double))
                }
            }
            return result
        }
    }

    /// The ratings of each of these readers, by book id.
    public func ratings(userIDs: [Int]) throws -> [Int: [Rating]] {
        try read { db in
            var result: [Int: [Rating]] = [:]
            let statement = try db.makeStatement(sql: "SELECT bookId, rating FROM rating WHERE userId = ? ORDER BY bookId")
            for user in userIDs {
                result[user] = try Row.fetchAll(statement, arguments: [user]).map { Rating(user: user, book: $0["bookId"], rating: $0["rating"]) }
            }
            return result
        }
    }

    // MARK: Recommendations

    /// Replaces the recommendations of a shard's readers and marks the shard done, atomically:
    /// a redelivered job rewrites the same rows.
    public func completeScoreShard(generationID: Int, index: Int, lists: [(userID: Int, books: [ScoredRecommendation])]) throws {
        try write("saving recommendations of shard \(index)") { db in
            let delete = try db.makeStatement(sql: "DELETE FROM recommendation WHERE generationId = ? AND userId = ?")
            let insert = try db.makeStatement(
                sql: "INSERT INTO recommendation (generationId, userId, rank, bookId, score, logit) VALUES (?, ?, ?, ?, ?, ?)")
            for list in lists {
                try delete.execute(arguments: [generationID, list.userID])
                for (rank, entry) in list.books.enumerated() {
                    try insert.execute(arguments: [generationID, list.userID, rank + 1, entry.bookID, Double(sigmoid(entry.logit)), Double(entry.logit)])
                }
            }
            try Self.markShardDone(db, generationID: generationID, kind: .score, index: index)
        }
    }

    /// The stored lists of these readers with their logits, best first (readers without a list
    /// are absent), for merging new books into them. One range scan: shards hold consecutive ids.
    public func scoredRecommendations(generationID: Int, userIDs: [Int]) throws -> [Int: [ScoredRecommendation]] {
        guard let low = userIDs.min(), let high = userIDs.max() else { return [:] }
        let wanted = Set(userIDs)
        return try read { db in
            var result: [Int: [ScoredRecommendation]] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT userId, bookId, logit FROM recommendation WHERE generationId = ? AND userId BETWEEN ? AND ? ORDER BY userId, rank",
                arguments: [generationID, low, high])
            while let row = try rows.next() {
                let user: Int = row["userId"]
                guard wanted.contains(user) else { continue }
                guard let logit = row["logit"] as Double? else {
                    throw StoreError("generation \(generationID) was scored before logits were stored; run `bookrec-coordinator run` once to rebuild it")
                }
                result[user, default: []].append(ScoredRecommendation(bookID: row["bookId"], logit: Float(logit)))
            }
            return result
        }
    }

    public func recommendations(generationID: Int, userID: Int, limit: Int) throws -> [StoredRecommendation] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT rank, bookId, score FROM recommendation WHERE generationId = ? AND userId = ? ORDER BY rank LIMIT ?",
                arguments: [generationID, userID, limit]
            ).map { StoredRecommendation(rank: $0["rank"], bookID: $0["bookId"], score: $0["score"]) }
        }
    }

    /// Streams every reader's list in (user, rank) order without loading them all.
    public func forEachRecommendation(generationID: Int, limit: Int, _ body: (Int, StoredRecommendation) throws -> Void) throws {
        try read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT userId, rank, bookId, score FROM recommendation WHERE generationId = ? AND rank <= ? ORDER BY userId, rank",
                arguments: [generationID, limit])
            while let row = try rows.next() {
                try body(row["userId"], StoredRecommendation(rank: row["rank"], bookID: row["bookId"], score: row["score"]))
            }
        }
    }
}

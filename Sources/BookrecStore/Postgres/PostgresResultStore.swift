import BookrecCore
import Foundation

extension PostgresStore {
    // MARK: Encoder cache

    public func encodings(encoder: String, hashes: [String]) throws -> [String: [Float]] {
        try read { connection in
            let rows = try connection.query(
                "SELECT contentHash, vector FROM encoding WHERE encoder = $1 AND contentHash = ANY($2::text[])", [encoder, PostgresArray(Array(Set(hashes)))])
            var found: [String: [Float]] = [:]
            for row in 0..<rows.count { found[rows.string(row, 0)] = rows.floats(row, 1) }
            return found
        }
    }

    public func completeEncodeShard(generationID: Int, index: Int, encodings: [(encoder: String, hash: String, vector: [Float])]) throws {
        // Books with the same text share a hash: one row per (encoder, hash), the last one given.
        var latest: [String: (encoder: String, hash: String, vector: [Float])] = [:]
        for entry in encodings { latest[entry.encoder + "\u{0}" + entry.hash] = entry }
        let rows = latest.keys.sorted().map { latest[$0]! }
        try write("saving encodings of shard \(index)") { connection in
            if !rows.isEmpty {
                try connection.query(
                    """
                    INSERT INTO encoding (encoder, contentHash, vector) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
                    ON CONFLICT (encoder, contentHash) DO UPDATE SET vector = excluded.vector
                    """, [PostgresArray(rows.map(\.encoder)), PostgresArray(rows.map(\.hash)), PostgresArray(rows.map(\.vector.blob))])
            }
            try Self.markShardDone(connection, generationID: generationID, kind: .encode, index: index)
        }
    }

    // MARK: Book and reader vectors

    public func saveBookVectors(generationID: Int, _ vectors: [(bookID: Int, vector: [Float], term: Float)]) throws {
        let rows = Self.lastPerKey(vectors, key: \.bookID)
        try write("saving book vectors") { connection in
            try connection.query(
                """
                INSERT INTO bookVector (generationId, bookId, vector, term) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::float8[])
                ON CONFLICT (generationId, bookId) DO UPDATE SET vector = excluded.vector, term = excluded.term
                """,
                [generationID, PostgresArray(rows.map(\.bookID)), PostgresArray(rows.map(\.vector.blob)), PostgresArray(rows.map { Double($0.term) })])
        }
    }

    public func bookVectors(generationID: Int) throws -> (ids: [Int], vectors: [[Float]], terms: [Float]) {
        try read { connection in
            let rows = try connection.query("SELECT bookId, vector, term FROM bookVector WHERE generationId = $1 ORDER BY bookId", [generationID])
            return (
                (0..<rows.count).map { rows.int($0, 0) }, (0..<rows.count).map { rows.floats($0, 1) },
                (0..<rows.count).map { Float(rows.double($0, 2)) }
            )
        }
    }

    public func bookVector(generationID: Int, bookID: Int) throws -> (vector: [Float], term: Float)? {
        try read { connection in
            let rows = try connection.query("SELECT vector, term FROM bookVector WHERE generationId = $1 AND bookId = $2", [generationID, bookID])
            return rows.count == 0 ? nil : (rows.floats(0, 0), Float(rows.double(0, 1)))
        }
    }

    public func bookIDsWithVectors(generationID: Int) throws -> Set<Int> {
        try read { connection in Self.ints(try connection.query("SELECT bookId FROM bookVector WHERE generationId = $1", [generationID])) }
    }

    public func saveReaderVectors(generationID: Int, _ vectors: [(userID: Int, vector: [Float], bias: Float, ratingsHash: String)]) throws {
        let rows = Self.lastPerKey(vectors, key: \.userID)
        try write("saving reader vectors") { connection in
            try connection.query(
                """
                INSERT INTO readerVector (generationId, userId, vector, bias, ratingsHash)
                SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::float8[], $5::text[])
                ON CONFLICT (generationId, userId) DO UPDATE SET vector = excluded.vector, bias = excluded.bias, ratingsHash = excluded.ratingsHash
                """,
                [
                    generationID, PostgresArray(rows.map(\.userID)), PostgresArray(rows.map(\.vector.blob)),
                    PostgresArray(rows.map { Double($0.bias) }), PostgresArray(rows.map(\.ratingsHash)),
                ])
        }
    }

    public func readerVectors(generationID: Int, userIDs: [Int]) throws -> [Int: (vector: [Float], bias: Float)] {
        try read { connection in
            let rows = try connection.query(
                "SELECT userId, vector, bias FROM readerVector WHERE generationId = $1 AND userId = ANY($2::bigint[])", [generationID, PostgresArray(userIDs)])
            var result: [Int: (vector: [Float], bias: Float)] = [:]
            for row in 0..<rows.count { result[rows.int(row, 0)] = (rows.floats(row, 1), Float(rows.double(row, 2))) }
            return result
        }
    }

    public func readerRatingsHashes(generationID: Int) throws -> [Int: String] {
        try read { connection in
            let rows = try connection.query("SELECT userId, ratingsHash FROM readerVector WHERE generationId = $1", [generationID])
            var result: [Int: String] = [:]
            for row in 0..<rows.count { result[rows.int(row, 0)] = rows.optionalString(row, 1) ?? "" }
            return result
        }
    }

    public func readerIDs(generationID: Int) throws -> [Int] {
        try read { connection in Self.intList(try connection.query("SELECT userId FROM readerVector WHERE generationId = $1 ORDER BY userId", [generationID])) }
    }

    // MARK: Recommendations

    public func completeScoreShard(generationID: Int, index: Int, lists: [(userID: Int, books: [ScoredRecommendation])]) throws {
        let lists = Self.lastPerKey(lists, key: \.userID)
        var users: [Int] = [], ranks: [Int] = [], books: [Int] = [], scores: [Double] = [], logits: [Double] = []
        for list in lists {
            for (rank, entry) in list.books.enumerated() {
                users.append(list.userID)
                ranks.append(rank + 1)
                books.append(entry.bookID)
                scores.append(Double(sigmoid(entry.logit)))
                logits.append(Double(entry.logit))
            }
        }
        try write("saving recommendations of shard \(index)") { connection in
            try connection.query(
                "DELETE FROM recommendation WHERE generationId = $1 AND userId = ANY($2::bigint[])", [generationID, PostgresArray(lists.map(\.userID))])
            try connection.query(
                """
                INSERT INTO recommendation (generationId, userId, rank, bookId, score, logit)
                SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[])
                """,
                [generationID, PostgresArray(users), PostgresArray(ranks), PostgresArray(books), PostgresArray(scores), PostgresArray(logits)])
            try Self.markShardDone(connection, generationID: generationID, kind: .score, index: index)
        }
    }

    public func scoredRecommendations(generationID: Int, userIDs: [Int]) throws -> [Int: [ScoredRecommendation]] {
        if userIDs.isEmpty { return [:] }
        return try read { connection in
            let rows = try connection.query(
                "SELECT userId, bookId, logit FROM recommendation WHERE generationId = $1 AND userId = ANY($2::bigint[]) ORDER BY userId, rank",
                [generationID, PostgresArray(userIDs)])
            var result: [Int: [ScoredRecommendation]] = [:]
            for row in 0..<rows.count {
                guard let logit = rows.optionalDouble(row, 2) else {
                    throw StoreError("generation \(generationID) was scored before logits were stored; run `bookrec-coordinator run` once to rebuild it")
                }
                result[rows.int(row, 0), default: []].append(ScoredRecommendation(bookID: rows.int(row, 1), logit: Float(logit)))
            }
            return result
        }
    }

    public func recommendations(generationID: Int, userID: Int, limit: Int) throws -> [StoredRecommendation] {
        try read { connection in
            let rows = try connection.query(
                "SELECT rank, bookId, score FROM recommendation WHERE generationId = $1 AND userId = $2 ORDER BY rank LIMIT $3", [generationID, userID, limit])
            return (0..<rows.count).map { StoredRecommendation(rank: rows.int($0, 0), bookID: rows.int($0, 1), score: rows.double($0, 2)) }
        }
    }

    /// Rows per fetch when every list is streamed.
    static let streamBatch = 20_000

    /// A failure before the first row is run again like any read; after it, the rows already
    /// handed to `body` cannot be taken back, so it is an error rather than a second stream.
    public func forEachRecommendation(generationID: Int, limit: Int, _ body: (Int, StoredRecommendation) throws -> Void) throws {
        var delivered = 0
        try readSnapshot { connection in
            do {
                try connection.query(
                    """
                    DECLARE every_list NO SCROLL CURSOR FOR
                    SELECT userId, rank, bookId, score FROM recommendation WHERE generationId = $1 AND rank <= $2 ORDER BY userId, rank
                    """, [generationID, limit])
                while true {
                    let rows = try connection.query("FETCH \(Self.streamBatch) FROM every_list")
                    for row in 0..<rows.count {
                        try body(rows.int(row, 0), StoredRecommendation(rank: rows.int(row, 1), bookID: rows.int(row, 2), score: rows.double(row, 3)))
                        delivered += 1
                    }
                    if rows.count < Self.streamBatch { break }
                }
            } catch let error as PostgresError where delivered > 0 {
                throw StoreError("streaming the lists of generation \(generationID) failed after \(delivered) rows: \(error)")
            }
        }
    }

    /// One entry per key, the last one given (as an SQLite INSERT OR REPLACE of each in turn
    /// would leave), in the order of the keys' first appearance.
    static func lastPerKey<T>(_ entries: [T], key: (T) -> Int) -> [T] {
        var position: [Int: Int] = [:]
        var result: [T] = []
        for entry in entries {
            if let index = position[key(entry)] {
                result[index] = entry
            } else {
                position[key(entry)] = result.count
                result.append(entry)
            }
        }
        return result
    }
}

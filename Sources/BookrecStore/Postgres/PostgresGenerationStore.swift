import BookrecCore
import Foundation

extension PostgresStore {
    // MARK: Generations

    public func createGeneration(kind: String, parentID: Int?, configuration: Data) throws -> Int {
        let token = UUID().uuidString
        return try write("creating a generation") { connection in
            try Self.insertGeneration(connection, kind: kind, parentID: parentID, configuration: configuration, retryToken: token).id
        }
    }

    /// Inserts a generation, or finds the one an earlier run of the same write (same `retryToken`)
    /// committed: then `isNew` is false and that write's other rows are there too.
    static func insertGeneration(
        _ connection: PostgresConnection, kind: String, parentID: Int?, configuration: Data, retryToken: String
    ) throws -> (id: Int, isNew: Bool) {
        let inserted = try connection.query(
            """
            INSERT INTO generation (parentId, kind, state, configuration, createdAt, retryToken) VALUES ($1, $2, 'building', $3, $4, $5)
            ON CONFLICT (retryToken) DO NOTHING RETURNING id
            """,
            [parentID, kind, String(decoding: configuration, as: UTF8.self), Date(), retryToken])
        if inserted.count == 1 { return (inserted.int(0, 0), true) }
        return (try connection.query("SELECT id FROM generation WHERE retryToken = $1", [retryToken]).int(0, 0), false)
    }

    public func generation(_ id: Int) throws -> GenerationRecord? {
        try read { connection in try Self.generations(try connection.query("SELECT \(Self.generationColumns) FROM generation WHERE id = $1", [id])).first }
    }

    public func generations() throws -> [GenerationRecord] {
        try read { connection in try Self.generations(try connection.query("SELECT \(Self.generationColumns) FROM generation ORDER BY id")) }
    }

    public func unfinishedGeneration(kind: String) throws -> GenerationRecord? {
        try read { connection in
            try Self.generations(try connection.query(
                "SELECT \(Self.generationColumns) FROM generation WHERE state = 'building' AND kind = $1 ORDER BY id DESC LIMIT 1", [kind])).first
        }
    }

    public func activeGenerationID() throws -> Int? {
        try read { connection in try Self.activeGenerationID(connection) }
    }

    static func activeGenerationID(_ connection: PostgresConnection) throws -> Int? {
        let rows = try connection.query("SELECT generationId FROM activeGeneration WHERE singleton = 1")
        return rows.count == 0 ? nil : rows.int(0, 0)
    }

    public func activate(_ generationID: Int) throws {
        try write("activating generation \(generationID)") { connection in
            let unfinished = try connection.query(
                "SELECT count(*) FROM shard WHERE generationId = $1 AND state <> 'done'", [generationID]).int(0, 0)
            guard unfinished == 0 else { throw StoredValues.unfinishedShards(generationID: generationID, count: unfinished) }
            let booksWithoutVector = try connection.query(
                """
                SELECT DISTINCT planned::bigint AS id FROM shard, jsonb_array_elements_text(shard.ids::jsonb) AS planned
                WHERE shard.generationId = $1 AND shard.kind = 'encode'
                  AND NOT EXISTS (SELECT 1 FROM bookVector WHERE generationId = shard.generationId AND bookId = planned::bigint)
                ORDER BY id
                """, [generationID])
            let readersWithoutList = try connection.query(
                """
                SELECT DISTINCT planned::bigint AS id FROM shard, jsonb_array_elements_text(shard.ids::jsonb) AS planned
                WHERE shard.generationId = $1 AND shard.kind = 'score'
                  AND NOT EXISTS (SELECT 1 FROM recommendation WHERE generationId = shard.generationId AND userId = planned::bigint)
                  AND EXISTS (SELECT 1 FROM bookVector AS book WHERE book.generationId = shard.generationId
                              AND NOT EXISTS (SELECT 1 FROM rating WHERE userId = planned::bigint AND bookId = book.bookId))
                ORDER BY id
                """, [generationID])
            if let problem = StoredValues.activationProblem(
                generationID: generationID, booksWithoutVector: Self.intList(booksWithoutVector), readersWithoutList: Self.intList(readersWithoutList)) {
                throw problem
            }
            try connection.query("UPDATE generation SET state = 'complete', completedAt = $1 WHERE id = $2", [Date(), generationID])
            try Self.setActive(connection, generationID)
        }
    }

    static func setActive(_ connection: PostgresConnection, _ generationID: Int) throws {
        try connection.query(
            """
            INSERT INTO activeGeneration (singleton, generationId, activatedAt) VALUES (1, $1, $2)
            ON CONFLICT (singleton) DO UPDATE SET generationId = excluded.generationId, activatedAt = excluded.activatedAt
            """, [generationID, Date()])
    }

    public func markGeneration(_ generationID: Int, state: GenerationState) throws {
        try write("marking generation \(generationID) \(state.rawValue)") { connection in
            try connection.query("UPDATE generation SET state = $1 WHERE id = $2", [state.rawValue, generationID])
        }
    }

    // MARK: Model blobs

    public func saveBlob(generationID: Int, name: String, bytes: Data) throws {
        try write("saving \(name) of generation \(generationID)") { connection in
            try Self.upsertBlob(connection, generationID: generationID, name: name, bytes: bytes)
        }
    }

    static func upsertBlob(_ connection: PostgresConnection, generationID: Int, name: String, bytes: Data) throws {
        try connection.query(
            "INSERT INTO modelBlob (generationId, name, bytes) VALUES ($1, $2, $3) ON CONFLICT (generationId, name) DO UPDATE SET bytes = excluded.bytes",
            [generationID, name, bytes])
    }

    public func blob(generationID: Int, name: String) throws -> Data? {
        try read { connection in
            let rows = try connection.query("SELECT bytes FROM modelBlob WHERE generationId = $1 AND name = $2", [generationID, name])
            return rows.count == 0 ? nil : rows.data(0, 0)
        }
    }

    public func deleteBlobs(generationID: Int, prefix: String) throws {
        try write("deleting the \(prefix)* blobs of generation \(generationID)") { connection in
            try connection.query("DELETE FROM modelBlob WHERE generationId = $1 AND starts_with(name, $2)", [generationID, prefix])
        }
    }

    public func completeTrainShard(generationID: Int, index: Int, blobName: String, bytes: Data) throws {
        try write("saving train shard \(index)") { connection in
            try Self.upsertBlob(connection, generationID: generationID, name: blobName, bytes: bytes)
            try Self.markShardDone(connection, generationID: generationID, kind: .train, index: index)
        }
    }

    // MARK: Shards

    public func planShards(generationID: Int, kind: JobKind, shards: [[Int]]) throws {
        try write("planning \(kind.rawValue) shards") { connection in
            try connection.query(
                """
                INSERT INTO shard (generationId, kind, shardIndex, state, ids, updatedAt)
                SELECT $1, $2, planned.index, 'queued', planned.ids, $3 FROM unnest($4::bigint[], $5::text[]) AS planned(index, ids)
                ON CONFLICT DO NOTHING
                """,
                [generationID, kind.rawValue, Date(), PostgresArray(Array(shards.indices)), PostgresArray(try shards.map(StoredValues.json))])
        }
    }

    public func shards(generationID: Int, kind: JobKind?) throws -> [ShardRecord] {
        try read { connection in
            let rows = if let kind {
                try connection.query(
                    "SELECT \(Self.shardColumns) FROM shard WHERE generationId = $1 AND kind = $2 ORDER BY shardIndex", [generationID, kind.rawValue])
            } else {
                try connection.query("SELECT \(Self.shardColumns) FROM shard WHERE generationId = $1 ORDER BY kind, shardIndex", [generationID])
            }
            return try Self.shards(rows)
        }
    }

    public func shard(generationID: Int, kind: JobKind, index: Int) throws -> ShardRecord? {
        try read { connection in
            try Self.shards(try connection.query(
                "SELECT \(Self.shardColumns) FROM shard WHERE generationId = $1 AND kind = $2 AND shardIndex = $3", [generationID, kind.rawValue, index])
            ).first
        }
    }

    public func shardStates(
        generationID: Int, kind: JobKind, indices: Range<Int>?
    ) throws -> [Int: (state: ShardState, attempts: Int, error: String?)] {
        try read { connection in
            let range = indices ?? 0..<Int.max
            let rows = try connection.query(
                "SELECT shardIndex, state, attempts, error FROM shard WHERE generationId = $1 AND kind = $2 AND shardIndex >= $3 AND shardIndex < $4",
                [generationID, kind.rawValue, range.lowerBound, range.upperBound])
            var states: [Int: (state: ShardState, attempts: Int, error: String?)] = [:]
            for row in 0..<rows.count {
                states[rows.int(row, 0)] = (ShardState(rawValue: rows.string(row, 1)) ?? .failed, rows.int(row, 2), rows.optionalString(row, 3))
            }
            return states
        }
    }

    public func shardCounts(generationID: Int) throws -> [JobKind: [ShardState: Int]] {
        try read { connection in
            let rows = try connection.query("SELECT kind, state, count(*) FROM shard WHERE generationId = $1 GROUP BY kind, state", [generationID])
            var counts: [JobKind: [ShardState: Int]] = [:]
            for row in 0..<rows.count {
                guard let kind = JobKind(rawValue: rows.string(row, 0)), let state = ShardState(rawValue: rows.string(row, 1)) else { continue }
                counts[kind, default: [:]][state] = rows.int(row, 2)
            }
            return counts
        }
    }

    public func markShardRunning(generationID: Int, kind: JobKind, index: Int, worker: String) throws {
        try write("marking a shard running") { connection in
            try connection.query(
                """
                UPDATE shard SET state = 'running', attempts = attempts + 1, worker = $1, updatedAt = $2
                WHERE generationId = $3 AND kind = $4 AND shardIndex = $5 AND state <> 'done'
                """, [worker, Date(), generationID, kind.rawValue, index])
        }
    }

    static func markShardDone(_ connection: PostgresConnection, generationID: Int, kind: JobKind, index: Int) throws {
        try connection.query(
            "UPDATE shard SET state = 'done', error = NULL, updatedAt = $1 WHERE generationId = $2 AND kind = $3 AND shardIndex = $4",
            [Date(), generationID, kind.rawValue, index])
    }

    public func requeueShards(generationID: Int, kind: JobKind, indices: [Int]) throws {
        try write("requeueing shards") { connection in
            try connection.query(
                """
                UPDATE shard SET state = 'queued', error = NULL, updatedAt = $1
                WHERE generationId = $2 AND kind = $3 AND shardIndex = ANY($4::bigint[]) AND state <> 'done'
                """, [Date(), generationID, kind.rawValue, PostgresArray(indices)])
        }
    }

    public func recordDeadLetter(generationID: Int?, kind: String?, shardIndex: Int?, reason: String, body: Data, failsShard: Bool) throws {
        let token = UUID().uuidString
        try write("recording a dead letter") { connection in
            try connection.query(
                """
                INSERT INTO deadLetter (generationId, kind, shardIndex, reason, body, at, retryToken) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (retryToken) DO NOTHING
                """,
                [generationID, kind, shardIndex, reason, body, Date(), token])
            if failsShard, let generationID, let kind, let shardIndex {
                try connection.query(
                    """
                    UPDATE shard SET state = 'failed', error = $1, updatedAt = $2
                    WHERE generationId = $3 AND kind = $4 AND shardIndex = $5 AND state <> 'done'
                    """, [reason, Date(), generationID, kind, shardIndex])
            }
        }
    }

    public func deadLetters(limit: Int) throws -> [DeadLetterRecord] {
        try read { connection in
            let rows = try connection.query(
                "SELECT id, generationId, kind, shardIndex, reason, length(body), at FROM deadLetter ORDER BY id DESC LIMIT $1", [limit])
            return (0..<rows.count).map { row in
                DeadLetterRecord(
                    id: rows.int(row, 0), generationID: rows.optionalInt(row, 1), kind: rows.optionalString(row, 2), shardIndex: rows.optionalInt(row, 3),
                    reason: rows.string(row, 4), keptBodyBytes: rows.int(row, 5), at: rows.date(row, 6))
            }
        }
    }

    static let generationColumns = "id, parentId, kind, state, configuration, createdAt, completedAt"

    static func generations(_ rows: PostgresRows) throws -> [GenerationRecord] {
        (0..<rows.count).map { row in
            GenerationRecord(
                id: rows.int(row, 0), parentID: rows.optionalInt(row, 1), kind: rows.string(row, 2),
                state: GenerationState(rawValue: rows.string(row, 3)) ?? .failed, configuration: rows.data(row, 4),
                createdAt: rows.date(row, 5), completedAt: rows.optionalDate(row, 6))
        }
    }

    static let shardColumns = "generationId, kind, shardIndex, state, ids, attempts, error"

    static func shards(_ rows: PostgresRows) throws -> [ShardRecord] {
        try (0..<rows.count).map { row in
            let generationID = rows.int(row, 0), kind = rows.string(row, 1), index = rows.int(row, 2)
            return ShardRecord(
                generationID: generationID, kind: JobKind(rawValue: kind) ?? .encode, index: index,
                state: ShardState(rawValue: rows.string(row, 3)) ?? .failed,
                ids: try StoredValues.shardIDs(rows.string(row, 4), generationID: generationID, kind: kind, index: index),
                attempts: rows.int(row, 5), error: rows.optionalString(row, 6))
        }
    }

    static func intList(_ rows: PostgresRows) -> [Int] {
        (0..<rows.count).map { rows.int($0, 0) }
    }
}

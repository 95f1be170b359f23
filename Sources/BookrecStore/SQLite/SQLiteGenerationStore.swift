import BookrecCore
import Foundation
import GRDB

extension SQLiteStore {
    // MARK: Generations

    public func createGeneration(kind: String, parentID: Int?, configuration: Data) throws -> Int {
        try write("creating a generation") { db in
            try db.execute(
                sql: "INSERT INTO generation (parentId, kind, state, configuration, createdAt) VALUES (?, ?, 'building', ?, ?)",
                arguments: [parentID, kind, String(decoding: configuration, as: UTF8.self), Date()])
            return Int(db.lastInsertedRowID)
        }
    }

    public func generation(_ id: Int) throws -> GenerationRecord? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM generation WHERE id = ?", arguments: [id]).map(Self.generation(from:)) }
    }

    public func generations() throws -> [GenerationRecord] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM generation ORDER BY id").map(Self.generation(from:)) }
    }

    /// The newest generation of this kind still being built, to resume after an interruption.
    public func unfinishedGeneration(kind: String) throws -> GenerationRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM generation WHERE state = 'building' AND kind = ? ORDER BY id DESC LIMIT 1", arguments: [kind])
                .map(Self.generation(from:))
        }
    }

    public func activeGenerationID() throws -> Int? {
        try read { db in try Int.fetchOne(db, sql: "SELECT generationId FROM activeGeneration WHERE singleton = 1") }
    }

    /// Makes a generation the one queries see, in one transaction, only if every shard is done
    /// and the results are there: every book its encode shards planned has a vector, and every
    /// reader its score shards planned has a list (or has rated every book, so nothing is left
    /// to recommend). The results are read themselves, not only the shards' states.
    public func activate(_ generationID: Int) throws {
        try write("activating generation \(generationID)") { db in
            let unfinished = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM shard WHERE generationId = ? AND state != 'done'", arguments: [generationID]) ?? 0
            guard unfinished == 0 else { throw StoredValues.unfinishedShards(generationID: generationID, count: unfinished) }
            let booksWithoutVector = try Int.fetchAll(db, sql: """
                SELECT DISTINCT planned.value FROM shard, json_each(shard.ids) AS planned
                WHERE shard.generationId = ? AND shard.kind = 'encode'
                  AND NOT EXISTS (SELECT 1 FROM bookVector WHERE generationId = shard.generationId AND bookId = planned.value)
                ORDER BY planned.value
                """, arguments: [generationID])
            let readersWithoutList = try Int.fetchAll(db, sql: """
                SELECT DISTINCT planned.value FROM shard, json_each(shard.ids) AS planned
                WHERE shard.generationId = ? AND shard.kind = 'score'
                  AND NOT EXISTS (SELECT 1 FROM recommendation WHERE generationId = shard.generationId AND userId = planned.value)
                  AND EXISTS (SELECT 1 FROM bookVector AS book WHERE book.generationId = shard.generationId
                              AND NOT EXISTS (SELECT 1 FROM rating WHERE userId = planned.value AND bookId = book.bookId))
                ORDER BY planned.value
                """, arguments: [generationID])
            if let problem = StoredValues.activationProblem(
                generationID: generationID, booksWithoutVector: booksWithoutVector, readersWithoutList: readersWithoutList) {
                throw problem
            }
            try db.execute(sql: "UPDATE generation SET state = 'complete', completedAt = ? WHERE id = ?", arguments: [Date(), generationID])
            try Self.setActive(db, generationID)
        }
    }

    static func setActive(_ db: Database, _ generationID: Int) throws {
        try db.execute(
            sql: """
                INSERT INTO activeGeneration (singleton, generationId, activatedAt) VALUES (1, ?, ?)
                ON CONFLICT(singleton) DO UPDATE SET generationId = excluded.generationId, activatedAt = excluded.activatedAt
                """,
            arguments: [generationID, Date()])
    }

    public func markGeneration(_ generationID: Int, state: GenerationState) throws {
        try write("marking generation \(generationID) \(state.rawValue)") { db in
            try db.execute(sql: "UPDATE generation SET state = ? WHERE id = ?", arguments: [state.rawValue, generationID])
        }
    }

    // MARK: Model blobs

    public func saveBlob(generationID: Int, name: String, bytes: Data) throws {
        try write("saving \(name) of generation \(generationID)") { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO modelBlob (generationId, name, bytes) VALUES (?, ?, ?)",
                arguments: [generationID, name, bytes])
        }
    }

    public func blob(generationID: Int, name: String) throws -> Data? {
        try read { db in
            try Data.fetchOne(db, sql: "SELECT bytes FROM modelBlob WHERE generationId = ? AND name = ?", arguments: [generationID, name])
        }
    }

    /// Deletes the generation's blobs whose names start with `prefix`.
    public func deleteBlobs(generationID: Int, prefix: String) throws {
        try write("deleting the \(prefix)* blobs of generation \(generationID)") { db in
            try db.execute(
                sql: "DELETE FROM modelBlob WHERE generationId = ? AND substr(name, 1, ?) = ?",
                arguments: [generationID, prefix.count, prefix])
        }
    }

    /// Saves a train shard's result and marks the shard done, in one transaction.
    public func completeTrainShard(generationID: Int, index: Int, blobName: String, bytes: Data) throws {
        try write("saving train shard \(index)") { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO modelBlob (generationId, name, bytes) VALUES (?, ?, ?)",
                arguments: [generationID, blobName, bytes])
            try Self.markShardDone(db, generationID: generationID, kind: .train, index: index)
        }
    }

    // MARK: Shards

    /// Records the shards of a phase; shards already planned keep their state (resume).
    public func planShards(generationID: Int, kind: JobKind, shards: [[Int]]) throws {
        try write("planning \(kind.rawValue) shards") { db in
            for (index, ids) in shards.enumerated() {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO shard (generationId, kind, shardIndex, state, ids, updatedAt) VALUES (?, ?, ?, 'queued', ?, ?)",
                    arguments: [generationID, kind.rawValue, index, try StoredValues.json(ids), Date()])
            }
        }
    }

    public func shards(generationID: Int, kind: JobKind?) throws -> [ShardRecord] {
        try read { db in
            let rows: [Row]
            if let kind {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM shard WHERE generationId = ? AND kind = ? ORDER BY shardIndex", arguments: [generationID, kind.rawValue])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM shard WHERE generationId = ? ORDER BY kind, shardIndex", arguments: [generationID])
            }
            return try rows.map(Self.shard(from:))
        }
    }

    /// The state of the shards of a phase (those in `indices`, or all) by index, without their
    /// ids: what the coordinator polls while it waits.
    public func shardStates(
        generationID: Int, kind: JobKind, indices: Range<Int>?
    ) throws -> [Int: (state: ShardState, attempts: Int, error: String?)] {
        try read { db in
            var states: [Int: (state: ShardState, attempts: Int, error: String?)] = [:]
            let range = indices ?? 0..<Int.max
            let rows = try Row.fetchCursor(
                db, sql: "SELECT shardIndex, state, attempts, error FROM shard WHERE generationId = ? AND kind = ? AND shardIndex >= ? AND shardIndex < ?",
                arguments: [generationID, kind.rawValue, range.lowerBound, range.upperBound])
            while let row = try rows.next() {
                states[row["shardIndex"]] = (ShardState(rawValue: row["state"]) ?? .failed, row["attempts"], row["error"])
            }
            return states
        }
    }

    /// How many shards of each phase of a generation are in each state, counted by the store:
    /// a status line should not read every shard's ids.
    public func shardCounts(generationID: Int) throws -> [JobKind: [ShardState: Int]] {
        try read { db in
            var counts: [JobKind: [ShardState: Int]] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT kind, state, COUNT(*) AS n FROM shard WHERE generationId = ? GROUP BY kind, state", arguments: [generationID])
            while let row = try rows.next() {
                guard let kind = JobKind(rawValue: row["kind"]), let state = ShardState(rawValue: row["state"]) else { continue }
                counts[kind, default: [:]][state] = row["n"]
            }
            return counts
        }
    }

    public func shard(generationID: Int, kind: JobKind, index: Int) throws -> ShardRecord? {
        try read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM shard WHERE generationId = ? AND kind = ? AND shardIndex = ?",
                arguments: [generationID, kind.rawValue, index]
            ).map(Self.shard(from:))
        }
    }

    /// Notes that a worker took a shard; a shard already done stays done (redelivery).
    public func markShardRunning(generationID: Int, kind: JobKind, index: Int, worker: String) throws {
        try write("marking a shard running") { db in
            try db.execute(
                sql: "UPDATE shard SET state = 'running', attempts = attempts + 1, worker = ?, updatedAt = ? WHERE generationId = ? AND kind = ? AND shardIndex = ? AND state != 'done'",
                arguments: [worker, Date(), generationID, kind.rawValue, index])
        }
    }

    static func markShardDone(_ db: Database, generationID: Int, kind: JobKind, index: Int) throws {
        try db.execute(
            sql: "UPDATE shard SET state = 'done', error = NULL, updatedAt = ? WHERE generationId = ? AND kind = ? AND shardIndex = ?",
            arguments: [Date(), generationID, kind.rawValue, index])
    }

    /// Records a message that was dead-lettered, and fails its shard if it names one.
    /// `failsShard` false records a message that was not the plan's (a stale or forged copy),
    /// which leaves the planned shard to its real job.
    public func recordDeadLetter(generationID: Int?, kind: String?, shardIndex: Int?, reason: String, body: Data, failsShard: Bool) throws {
        try write("recording a dead letter") { db in
            try db.execute(
                sql: "INSERT INTO deadLetter (generationId, kind, shardIndex, reason, body, at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [generationID, kind, shardIndex, reason, body, Date()])
            if failsShard, let generationID, let kind, let shardIndex {
                try db.execute(
                    sql: "UPDATE shard SET state = 'failed', error = ?, updatedAt = ? WHERE generationId = ? AND kind = ? AND shardIndex = ? AND state != 'done'",
                    arguments: [reason, Date(), generationID, kind, shardIndex])
            }
        }
    }

    public func deadLetters(limit: Int) throws -> [DeadLetterRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, generationId, kind, shardIndex, reason, length(body) AS keptBodyBytes, at FROM deadLetter ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                DeadLetterRecord(id: $0["id"], generationID: $0["generationId"], kind: $0["kind"], shardIndex: $0["shardIndex"], reason: $0["reason"],
                                 keptBodyBytes: $0["keptBodyBytes"], at: $0["at"])
            }
        }
    }

    static func generation(from row: Row) -> GenerationRecord {
        GenerationRecord(
            id: row["id"], parentID: row["parentId"], kind: row["kind"], state: GenerationState(rawValue: row["state"]) ?? .failed,
            configuration: Data((row["configuration"] as String).utf8), createdAt: row["createdAt"], completedAt: row["completedAt"])
    }

    static func shard(from row: Row) throws -> ShardRecord {
        let generationID: Int = row["generationId"], kind: String = row["kind"], index: Int = row["shardIndex"]
        let ids = try StoredValues.shardIDs(row["ids"], generationID: generationID, kind: kind, index: index)
        return ShardRecord(
            generationID: generationID, kind: JobKind(rawValue: kind) ?? .encode, index: index,
            state: ShardState(rawValue: row["state"]) ?? .failed, ids: ids, attempts: row["attempts"], error: row["error"])
    }
}

extension SQLiteStore {
    /// Puts failed or stalled shards back to queued before they are published again.
    public func requeueShards(generationID: Int, kind: JobKind, indices: [Int]) throws {
        try write("requeueing shards") { db in
            for index in indices {
                try db.execute(
                    sql: "UPDATE shard SET state = 'queued', error = NULL, updatedAt = ? WHERE generationId = ? AND kind = ? AND shardIndex = ? AND state != 'done'",
                    arguments: [Date(), generationID, kind.rawValue, index])
            }
        }
    }
}

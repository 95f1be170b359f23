import Foundation
import GRDB

extension SQLiteStore {
    /// The request for this content, made now or found: the same file enqueued twice is one
    /// request. Returns it and whether it is new.
    public func acceptReindexRequest(
        kind: ReindexRequest.Kind, contentHash: String, file: String, accepted: Int, content: Data
    ) throws -> (ReindexRequest, isNew: Bool) {
        try write("accepting a reindex request for \(file)") { db in
            if let existing = try Row.fetchOne(
                db, sql: "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE kind = ? AND contentHash = ?", arguments: [kind.rawValue, contentHash]) {
                return (try Self.reindexRequest(from: existing), false)
            }
            try db.execute(
                sql: "INSERT INTO reindexRequest (kind, contentHash, file, accepted, content, state, acceptedAt) VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                arguments: [kind.rawValue, contentHash, file, accepted, content, Date()])
            let row = try Row.fetchOne(db, sql: "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE id = ?", arguments: [db.lastInsertedRowID])!
            return (try Self.reindexRequest(from: row), true)
        }
    }

    public func reindexRequest(_ id: Int) throws -> ReindexRequest? {
        try read { db in try Row.fetchOne(db, sql: "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE id = ?", arguments: [id]).map(Self.reindexRequest(from:)) }
    }

    /// The accepted rows kept with a request.
    public func reindexContent(_ id: Int) throws -> Data? {
        try read { db in try Data.fetchOne(db, sql: "SELECT content FROM reindexRequest WHERE id = ?", arguments: [id]) }
    }

    /// Requests not yet applied (queued, or running when a service stopped), in acceptance order.
    public func pendingReindexRequests() throws -> [ReindexRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE state IN ('queued', 'running') ORDER BY id").map(Self.reindexRequest(from:))
        }
    }

    /// The latest requests, newest first.
    public func reindexRequests(limit: Int) throws -> [ReindexRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.reindexColumns) FROM reindexRequest ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Self.reindexRequest(from:))
        }
    }

    /// Marks requests running, done or failed, in one transaction.
    public func markReindexRequests(_ ids: [Int], state: ReindexRequest.State, generationID: Int?, reason: String?) throws {
        try write("marking reindex requests \(ids) \(state.rawValue)") { db in
            let finished = state == .done || state == .failed ? Date() : nil
            for id in ids {
                try db.execute(
                    sql: "UPDATE reindexRequest SET state = ?, generationId = ?, reason = ?, finishedAt = ? WHERE id = ?",
                    arguments: [state.rawValue, generationID, reason, finished, id])
            }
        }
    }

    /// Every column but the content, which only the service reads, once.
    static let reindexColumns = "id, kind, contentHash, file, accepted, state, generationId, reason, acceptedAt, finishedAt"

    static func reindexRequest(from row: Row) throws -> ReindexRequest {
        let id: Int = row["id"]
        guard let kind = ReindexRequest.Kind(rawValue: row["kind"]), let state = ReindexRequest.State(rawValue: row["state"]) else {
            throw StoreError("reindex request \(id) in the store is damaged: kind \(row["kind"] as String? ?? "-"), state \(row["state"] as String? ?? "-")")
        }
        return ReindexRequest(
            id: id, kind: kind, file: row["file"], accepted: row["accepted"], state: state, generationID: row["generationId"],
            reason: row["reason"], acceptedAt: row["acceptedAt"])
    }
}

import Foundation

extension PostgresStore {
    public func acceptReindexRequest(
        kind: ReindexRequest.Kind, contentHash: String, file: String, accepted: Int, content: Data
    ) throws -> (ReindexRequest, isNew: Bool) {
        try write("accepting a reindex request for \(file)") { connection in
            let existing = try connection.query(
                "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE kind = $1 AND contentHash = $2", [kind.rawValue, contentHash])
            if let request = try Self.reindexRequests(existing).first { return (request, false) }
            // Two enqueuers of the same file at once: one inserts, the other finds its row.
            let inserted = try connection.query(
                """
                INSERT INTO reindexRequest (kind, contentHash, file, accepted, content, state, acceptedAt) VALUES ($1, $2, $3, $4, $5, 'queued', $6)
                ON CONFLICT (kind, contentHash) DO NOTHING RETURNING \(Self.reindexColumns)
                """, [kind.rawValue, contentHash, file, accepted, content, Date()])
            if let request = try Self.reindexRequests(inserted).first { return (request, true) }
            let raced = try connection.query(
                "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE kind = $1 AND contentHash = $2", [kind.rawValue, contentHash])
            guard let request = try Self.reindexRequests(raced).first else {
                throw StoreError("the reindex request for \(file) was neither stored nor found")
            }
            return (request, false)
        }
    }

    public func reindexRequest(_ id: Int) throws -> ReindexRequest? {
        try read { connection in
            try Self.reindexRequests(try connection.query("SELECT \(Self.reindexColumns) FROM reindexRequest WHERE id = $1", [id])).first
        }
    }

    public func reindexContent(_ id: Int) throws -> Data? {
        try read { connection in
            let rows = try connection.query("SELECT content FROM reindexRequest WHERE id = $1", [id])
            return rows.count == 0 ? nil : rows.data(0, 0)
        }
    }

    public func pendingReindexRequests() throws -> [ReindexRequest] {
        try read { connection in
            try Self.reindexRequests(try connection.query(
                "SELECT \(Self.reindexColumns) FROM reindexRequest WHERE state IN ('queued', 'running') ORDER BY id"))
        }
    }

    public func reindexRequests(limit: Int) throws -> [ReindexRequest] {
        try read { connection in
            try Self.reindexRequests(try connection.query("SELECT \(Self.reindexColumns) FROM reindexRequest ORDER BY id DESC LIMIT $1", [limit]))
        }
    }

    public func markReindexRequests(_ ids: [Int], state: ReindexRequest.State, generationID: Int?, reason: String?) throws {
        try write("marking reindex requests \(ids) \(state.rawValue)") { connection in
            let finished = state == .done || state == .failed ? Date() : nil
            try connection.query(
                "UPDATE reindexRequest SET state = $1, generationId = $2, reason = $3, finishedAt = $4 WHERE id = ANY($5::bigint[])",
                [state.rawValue, generationID, reason, finished, PostgresArray(ids)])
        }
    }

    /// Every column but the content, which only the service reads, once.
    static let reindexColumns = "id, kind, file, accepted, state, generationId, reason, acceptedAt"

    static func reindexRequests(_ rows: PostgresRows) throws -> [ReindexRequest] {
        try (0..<rows.count).map { row in
            let id = rows.int(row, 0)
            guard let kind = ReindexRequest.Kind(rawValue: rows.string(row, 1)), let state = ReindexRequest.State(rawValue: rows.string(row, 4)) else {
                throw StoreError("reindex request \(id) in the store is damaged: kind \(rows.string(row, 1)), state \(rows.string(row, 4))")
            }
            return ReindexRequest(
                id: id, kind: kind, file: rows.string(row, 2), accepted: rows.int(row, 3), state: state, generationID: rows.optionalInt(row, 5),
                reason: rows.optionalString(row, 6), acceptedAt: rows.date(row, 7))
        }
    }
}

import Foundation
import GRDB

extension SQLiteStore {
    /// Creates a generation that starts as a copy of `parentID`: its blobs, book and reader
    /// vectors, and the lists of every reader not in `rescoredReaders` (no list if nil: every
    /// reader is rescored), plus `blobs` of its own. One transaction: never half made.
    public func createDerivedGeneration(
        kind: String, parentID: Int, configuration: Data, blobs: [String: Data], copyListsExcept rescoredReaders: [Int]?
    ) throws -> Int {
        try write("creating a \(kind) generation from generation \(parentID)") { db in
            try db.execute(
                sql: "INSERT INTO generation (parentId, kind, state, configuration, createdAt) VALUES (?, ?, 'building', ?, ?)",
                arguments: [parentID, kind, String(decoding: configuration, as: UTF8.self), Date()])
            let id = Int(db.lastInsertedRowID)
            // The model and encoder blobs carry over; the parent's own list of changes does not.
            try db.execute(
                sql: "INSERT INTO modelBlob (generationId, name, bytes) SELECT ?, name, bytes FROM modelBlob WHERE generationId = ? AND name NOT IN (?, ?)",
                arguments: [id, parentID, ModelBlob.addedBooks, ModelBlob.rescoredReaders])
            for (name, bytes) in blobs {
                try db.execute(sql: "INSERT OR REPLACE INTO modelBlob (generationId, name, bytes) VALUES (?, ?, ?)", arguments: [id, name, bytes])
            }
            try db.execute(
                sql: "INSERT INTO bookVector (generationId, bookId, vector, term) SELECT ?, bookId, vector, term FROM bookVector WHERE generationId = ?",
                arguments: [id, parentID])
            try db.execute(
                sql: """
                    INSERT INTO readerVector (generationId, userId, vector, bias, ratingsHash)
                    SELECT ?, userId, vector, bias, ratingsHash FROM readerVector WHERE generationId = ?
                    """,
                arguments: [id, parentID])
            if let rescoredReaders {
                try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS rescored (userId INTEGER PRIMARY KEY)")
                try db.execute(sql: "DELETE FROM rescored")
                let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO rescored (userId) VALUES (?)")
                for user in rescoredReaders { try insert.execute(arguments: [user]) }
                try db.execute(
                    sql: """
                        INSERT INTO recommendation (generationId, userId, rank, bookId, score, logit)
                        SELECT ?, userId, rank, bookId, score, logit FROM recommendation
                        WHERE generationId = ? AND userId NOT IN (SELECT userId FROM rescored)
                        """,
                    arguments: [id, parentID])
                try db.execute(sql: "DELETE FROM rescored")
            }
            return id
        }
    }

    /// Ids of the books that have a vector in a generation.
    public func bookIDsWithVectors(generationID: Int) throws -> Set<Int> {
        try read { db in Set(try Int.fetchAll(db, sql: "SELECT bookId FROM bookVector WHERE generationId = ?", arguments: [generationID])) }
    }

    /// Ids of the readers that have a vector in a generation, ascending.
    public func readerIDs(generationID: Int) throws -> [Int] {
        try read { db in try Int.fetchAll(db, sql: "SELECT userId FROM readerVector WHERE generationId = ? ORDER BY userId", arguments: [generationID]) }
    }

    /// Makes an earlier complete generation active again: `target`, or else the newest complete
    /// generation older than the active one. Returns (previously active, now active).
    public func rollback(to target: Int?) throws -> (from: Int, to: Int) {
        try write("rolling back") { db in
            guard let active = try Int.fetchOne(db, sql: "SELECT generationId FROM activeGeneration WHERE singleton = 1") else {
                throw StoreError("no generation is active in \(path); nothing to roll back")
            }
            let chosen: Int
            if let target {
                let state = try String.fetchOne(db, sql: "SELECT state FROM generation WHERE id = ?", arguments: [target])
                guard let state else { throw StoreError("generation \(target) does not exist in \(path)") }
                guard state == GenerationState.complete.rawValue else {
                    throw StoreError("generation \(target) is \(state), not complete; only a complete generation can be made active")
                }
                chosen = target
            } else {
                guard let previous = try Int.fetchOne(
                    db, sql: "SELECT id FROM generation WHERE state = 'complete' AND id < ? ORDER BY id DESC LIMIT 1", arguments: [active])
                else { throw StoreError("generation \(active) is the oldest complete generation in \(path); there is nothing earlier to roll back to") }
                chosen = previous
            }
            try Self.setActive(db, chosen)
            return (active, chosen)
        }
    }

    /// Deletes every generation except the newest `keep` complete ones, the active one, any still
    /// being built (a coordinator may resume it) and their parents (an add-books generation
    /// merges into its parent's lists), with all their rows.
    public func collectGarbage(keep: Int) throws -> GarbageCollection {
        try write("collecting old generations") { db in
            var kept = Set(try Int.fetchAll(db, sql: "SELECT id FROM generation WHERE state = 'complete' ORDER BY id DESC LIMIT ?", arguments: [max(keep, 0)]))
            kept.formUnion(try Int.fetchAll(db, sql: "SELECT generationId FROM activeGeneration"))
            kept.formUnion(try Int.fetchAll(db, sql: "SELECT parentId FROM generation WHERE state = 'building' AND parentId IS NOT NULL"))
            let doomed = try Int.fetchAll(db, sql: "SELECT id FROM generation WHERE state != 'building' ORDER BY id").filter { !kept.contains($0) }
            var result = GarbageCollection()
            for id in doomed {
                result.recommendations += try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM recommendation WHERE generationId = ?", arguments: [id]) ?? 0
                // Children keep their own copies of everything; only the link to the parent goes.
                try db.execute(sql: "UPDATE generation SET parentId = NULL WHERE parentId = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM generation WHERE id = ?", arguments: [id])
                result.generations.append(id)
            }
            return result
        }
    }
}

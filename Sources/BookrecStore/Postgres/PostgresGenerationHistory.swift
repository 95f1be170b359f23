import Foundation

extension PostgresStore {
    public func createDerivedGeneration(
        kind: String, parentID: Int, configuration: Data, blobs: [String: Data], copyListsExcept rescoredReaders: [Int]?
    ) throws -> Int {
        let token = UUID().uuidString
        return try write("creating a \(kind) generation from generation \(parentID)") { connection in
            let (id, isNew) = try Self.insertGeneration(connection, kind: kind, parentID: parentID, configuration: configuration, retryToken: token)
            guard isNew else { return id }  // an earlier run of this write committed it all
            // The model and encoder blobs carry over; the parent's own list of changes does not.
            try connection.query(
                "INSERT INTO modelBlob (generationId, name, bytes) SELECT $1, name, bytes FROM modelBlob WHERE generationId = $2 AND name NOT IN ($3, $4)",
                [id, parentID, ModelBlob.addedBooks, ModelBlob.rescoredReaders])
            for (name, bytes) in blobs.sorted(by: { $0.key < $1.key }) {
                try Self.upsertBlob(connection, generationID: id, name: name, bytes: bytes)
            }
            try connection.query(
                "INSERT INTO bookVector (generationId, bookId, vector, term) SELECT $1, bookId, vector, term FROM bookVector WHERE generationId = $2",
                [id, parentID])
            try connection.query(
                """
                INSERT INTO readerVector (generationId, userId, vector, bias, ratingsHash)
                SELECT $1, userId, vector, bias, ratingsHash FROM readerVector WHERE generationId = $2
                """, [id, parentID])
            if let rescoredReaders {
                try connection.query(
                    """
                    INSERT INTO recommendation (generationId, userId, rank, bookId, score, logit)
                    SELECT $1, userId, rank, bookId, score, logit FROM recommendation
                    WHERE generationId = $2 AND userId <> ALL($3::bigint[])
                    """, [id, parentID, PostgresArray(rescoredReaders)])
            }
            return id
        }
    }

    public func rollback(to target: Int?) throws -> (from: Int, to: Int) {
        try write("rolling back") { connection in
            guard let active = try Self.activeGenerationID(connection) else {
                throw StoreError("no generation is active in \(location); nothing to roll back")
            }
            let chosen: Int
            if let target {
                let rows = try connection.query("SELECT state FROM generation WHERE id = $1", [target])
                guard rows.count == 1 else { throw StoreError("generation \(target) does not exist in \(location)") }
                let state = rows.string(0, 0)
                guard state == GenerationState.complete.rawValue else {
                    throw StoreError("generation \(target) is \(state), not complete; only a complete generation can be made active")
                }
                chosen = target
            } else {
                let rows = try connection.query("SELECT id FROM generation WHERE state = 'complete' AND id < $1 ORDER BY id DESC LIMIT 1", [active])
                guard rows.count == 1 else {
                    throw StoreError("generation \(active) is the oldest complete generation in \(location); there is nothing earlier to roll back to")
                }
                chosen = rows.int(0, 0)
            }
            try Self.setActive(connection, chosen)
            return (active, chosen)
        }
    }

    public func collectGarbage(keep: Int) throws -> GarbageCollection {
        try write("collecting old generations") { connection in
            var kept = Self.ints(try connection.query("SELECT id FROM generation WHERE state = 'complete' ORDER BY id DESC LIMIT $1", [max(keep, 0)]))
            kept.formUnion(Self.ints(try connection.query("SELECT generationId FROM activeGeneration")))
            kept.formUnion(Self.ints(try connection.query("SELECT parentId FROM generation WHERE state = 'building' AND parentId IS NOT NULL")))
            let doomed = Self.intList(try connection.query("SELECT id FROM generation WHERE state <> 'building' ORDER BY id")).filter { !kept.contains($0) }
            var result = GarbageCollection()
            for id in doomed {
                result.recommendations += try connection.query("SELECT count(*) FROM recommendation WHERE generationId = $1", [id]).int(0, 0)
                // Children keep their own copies of everything; only the link to the parent goes.
                try connection.query("UPDATE generation SET parentId = NULL WHERE parentId = $1", [id])
                try connection.query("DELETE FROM generation WHERE id = $1", [id])
                result.generations.append(id)
            }
            return result
        }
    }
}

import GRDB

/// The store's schema, as GRDB migrations: a new schema change is a new migration, never an edit.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: catalog, generations, results") { db in
            try db.create(table: "book") { t in
                t.primaryKey("id", .integer)
                t.column("title", .text).notNull()
                t.column("authors", .text).notNull()
                t.column("year", .integer)
                t.column("language", .text).notNull()
                t.column("isbn13", .text).notNull()
                t.column("description", .text).notNull()
                t.column("tags", .text).notNull()  // JSON array
                t.column("genres", .text).notNull()  // JSON array
                t.column("textHash", .text).notNull()
            }
            try db.create(table: "cover") { t in
                t.primaryKey("bookId", .integer).references("book", onDelete: .cascade)
                t.column("bytes", .blob).notNull()
                t.column("contentHash", .text).notNull()
            }
            try db.create(table: "rating", options: .withoutRowID) { t in
                t.column("userId", .integer).notNull()
                t.column("bookId", .integer).notNull().references("book")
                t.column("rating", .integer).notNull()
                t.primaryKey(["userId", "bookId"])
            }
            try db.create(index: "rating_book", on: "rating", columns: ["bookId"])
            // Encoder outputs keyed by what was encoded and by whom: never encode the same twice.
            try db.create(table: "encoding", options: .withoutRowID) { t in
                t.column("encoder", .text).notNull()
                t.column("contentHash", .text).notNull()
                t.column("vector", .blob).notNull()
                t.primaryKey(["encoder", "contentHash"])
            }
            try db.create(table: "generation") { t in
                t.primaryKey("id", .integer)
                t.column("parentId", .integer)
                t.column("kind", .text).notNull()  // full, add-books, add-ratings
                t.column("state", .text).notNull()  // building, complete, failed
                t.column("configuration", .text).notNull()  // JSON
                t.column("createdAt", .datetime).notNull()
                t.column("completedAt", .datetime)
            }
            try db.create(table: "activeGeneration") { t in
                t.primaryKey("singleton", .integer).check { $0 == 1 }
                t.column("generationId", .integer).notNull().references("generation")
                t.column("activatedAt", .datetime).notNull()
            }
            try db.create(table: "modelBlob", options: .withoutRowID) { t in
                t.column("generationId", .integer).notNull().references("generation", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("bytes", .blob).notNull()
                t.primaryKey(["generationId", "name"])
            }
            try db.create(table: "bookVector", options: .withoutRowID) { t in
                t.column("generationId", .integer).notNull().references("generation", onDelete: .cascade)
                t.column("bookId", .integer).notNull()
                t.column("vector", .blob).notNull()
                t.column("term", .double).notNull()
                t.primaryKey(["generationId", "bookId"])
            }
            try db.create(table: "readerVector", options: .withoutRowID) { t in
                t.column("generationId", .integer).notNull().references("generation", onDelete: .cascade)
                t.column("userId", .integer).notNull()
                t.column("vector", .blob).notNull()
                t.column("bias", .double).notNull()
                t.primaryKey(["generationId", "userId"])
            }
            try db.create(table: "recommendation", options: .withoutRowID) { t in
                t.column("generationId", .integer).notNull().references("generation", onDelete: .cascade)
                t.column("userId", .integer).notNull()
                t.column("rank", .integer).notNull()
                t.column("bookId", .integer).notNull()
                t.column("score", .double).notNull()
                t.primaryKey(["generationId", "userId", "rank"])
            }
            try db.create(table: "shard", options: .withoutRowID) { t in
                t.column("generationId", .integer).notNull().references("generation", onDelete: .cascade)
                t.column("kind", .text).notNull()  // encode, score
                t.column("shardIndex", .integer).notNull()
                t.column("state", .text).notNull()  // queued, running, done, failed
                t.column("ids", .text).notNull()  // JSON array of book or user ids
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("error", .text)
                t.column("worker", .text)
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["generationId", "kind", "shardIndex"])
            }
            try db.create(table: "deadLetter") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("generationId", .integer)
                t.column("kind", .text)
                t.column("shardIndex", .integer)
                t.column("reason", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("at", .datetime).notNull()
            }
        }
        // Incremental generations merge new books into stored lists by logit (σ rounds distinct
        // logits to equal scores) and find readers whose ratings changed since their vector.
        migrator.registerMigration("v2: logits, reader rating fingerprints") { db in
            try db.alter(table: "recommendation") { t in t.add(column: "logit", .double) }
            try db.alter(table: "readerVector") { t in t.add(column: "ratingsHash", .text) }
        }
        // Enqueued reindexing: one row per accepted file, its accepted content kept with it until
        // `bookrec-coordinator serve` imports and applies it.
        migrator.registerMigration("v3: reindex requests") { db in
            try db.create(table: "reindexRequest") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("kind", .text).notNull()  // books, ratings
                t.column("contentHash", .text).notNull()
                t.column("file", .text).notNull()
                t.column("accepted", .integer).notNull()
                t.column("content", .blob).notNull()
                t.column("state", .text).notNull()  // queued, running, done, failed
                t.column("generationId", .integer)
                t.column("reason", .text)
                t.column("acceptedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.uniqueKey(["kind", "contentHash"])
            }
        }
        return migrator
    }
}

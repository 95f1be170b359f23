import Foundation

/// The PostgreSQL store's schema as numbered migrations: a schema change is a new migration,
/// never an edit. Each is applied once, in one transaction with its record in `schemaMigration`,
/// under an advisory lock so that processes opening the store together apply it once.
/// Identifiers are unquoted (PostgreSQL folds them to lower case), the same names as SQLite's.
enum PostgresSchema {
    static let migrations: [(identifier: String, sql: String)] = [
        (
            "v1: catalog, generations, results, reindex requests",
            """
            CREATE TABLE book (
                id bigint PRIMARY KEY, title text NOT NULL, authors text NOT NULL, year bigint, language text NOT NULL,
                isbn13 text NOT NULL, description text NOT NULL,
                tags text NOT NULL, genres text NOT NULL,  -- JSON arrays
                textHash text NOT NULL);
            CREATE TABLE cover (bookId bigint PRIMARY KEY REFERENCES book ON DELETE CASCADE, bytes bytea NOT NULL, contentHash text NOT NULL);
            CREATE TABLE rating (
                userId bigint NOT NULL, bookId bigint NOT NULL REFERENCES book, rating bigint NOT NULL, PRIMARY KEY (userId, bookId));
            CREATE INDEX rating_book ON rating (bookId);
            CREATE TABLE encoding (encoder text NOT NULL, contentHash text NOT NULL, vector bytea NOT NULL, PRIMARY KEY (encoder, contentHash));
            CREATE TABLE generation (
                id bigserial PRIMARY KEY, parentId bigint, kind text NOT NULL, state text NOT NULL,
                configuration text NOT NULL, createdAt timestamptz NOT NULL, completedAt timestamptz);
            CREATE TABLE activeGeneration (
                singleton bigint PRIMARY KEY CHECK (singleton = 1), generationId bigint NOT NULL REFERENCES generation,
                activatedAt timestamptz NOT NULL);
            CREATE TABLE modelBlob (
                generationId bigint NOT NULL REFERENCES generation ON DELETE CASCADE, name text NOT NULL, bytes bytea NOT NULL,
                PRIMARY KEY (generationId, name));
            CREATE TABLE bookVector (
                generationId bigint NOT NULL REFERENCES generation ON DELETE CASCADE, bookId bigint NOT NULL,
                vector bytea NOT NULL, term double precision NOT NULL, PRIMARY KEY (generationId, bookId));
            CREATE TABLE readerVector (
                generationId bigint NOT NULL REFERENCES generation ON DELETE CASCADE, userId bigint NOT NULL,
                vector bytea NOT NULL, bias double precision NOT NULL, ratingsHash text, PRIMARY KEY (generationId, userId));
            CREATE TABLE recommendation (
                generationId bigint NOT NULL REFERENCES generation ON DELETE CASCADE, userId bigint NOT NULL, rank bigint NOT NULL,
                bookId bigint NOT NULL, score double precision NOT NULL, logit double precision,
                PRIMARY KEY (generationId, userId, rank));
            CREATE TABLE shard (
                generationId bigint NOT NULL REFERENCES generation ON DELETE CASCADE, kind text NOT NULL, shardIndex bigint NOT NULL,
                state text NOT NULL, ids text NOT NULL,  -- JSON array of book or user ids
                attempts bigint NOT NULL DEFAULT 0, error text, worker text, updatedAt timestamptz NOT NULL,
                PRIMARY KEY (generationId, kind, shardIndex));
            CREATE TABLE deadLetter (
                id bigserial PRIMARY KEY, generationId bigint, kind text, shardIndex bigint, reason text NOT NULL,
                body bytea NOT NULL, at timestamptz NOT NULL);
            CREATE TABLE reindexRequest (
                id bigserial PRIMARY KEY, kind text NOT NULL, contentHash text NOT NULL, file text NOT NULL, accepted bigint NOT NULL,
                content bytea NOT NULL, state text NOT NULL, generationId bigint, reason text,
                acceptedAt timestamptz NOT NULL, finishedAt timestamptz, UNIQUE (kind, contentHash));
            """
        ),
        (
            // A write whose COMMIT went through but whose answer was lost is run again; the token
            // it carries finds the row the first run made instead of making a second one.
            "v2: retry tokens",
            """
            ALTER TABLE generation ADD COLUMN retryToken text UNIQUE;
            ALTER TABLE deadLetter ADD COLUMN retryToken text UNIQUE;
            """
        ),
    ]

    /// The advisory lock migrations run under (distinct from the coordinator's).
    static let lockKey = 0x626F_6F6B_7265_6331

    static func migrate(_ connection: PostgresConnection) throws {
        try connection.transaction {
            try connection.query("SELECT pg_advisory_xact_lock($1)", [lockKey])
            try connection.query("CREATE TABLE IF NOT EXISTS schemaMigration (identifier text PRIMARY KEY, appliedAt timestamptz NOT NULL)")
            let rows = try connection.query("SELECT identifier FROM schemaMigration")
            let applied = Set((0..<rows.count).map { rows.string($0, 0) })
            let known = Set(migrations.map(\.identifier))
            if let unknown = applied.subtracting(known).sorted().first {
                throw StoreError("the store was made by a newer bookrec (it has the migration \"\(unknown)\"); use that version")
            }
            for migration in migrations where !applied.contains(migration.identifier) {
                try connection.execute(script: migration.sql)
                try connection.query("INSERT INTO schemaMigration (identifier, appliedAt) VALUES ($1, now())", [migration.identifier])
            }
        }
    }
}

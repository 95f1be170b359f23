import BookrecCore
import Foundation

extension PostgresStore {
    /// Rows per statement when ratings are imported: 3 arrays of this many values.
    static let ratingBatch = 50_000

    public func importCatalog(books: [Book], covers: [Int: Data], ratings: [Rating]) throws -> ImportSummary {
        try write("importing the catalog") { connection in
            var summary = ImportSummary()
            let stored = try Dictionary(Self.books(try connection.query("SELECT \(Self.bookColumns) FROM book")).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let changed = summary.booksToWrite(books, stored: stored)
            if !changed.isEmpty {
                try connection.query(
                    """
                    INSERT INTO book (id, title, authors, year, language, isbn13, description, tags, genres, textHash)
                    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                    ON CONFLICT (id) DO UPDATE SET title = excluded.title, authors = excluded.authors, year = excluded.year,
                      language = excluded.language, isbn13 = excluded.isbn13, description = excluded.description,
                      tags = excluded.tags, genres = excluded.genres, textHash = excluded.textHash
                    """,
                    [
                        PostgresArray(changed.map(\.id)), PostgresArray(changed.map(\.title)), PostgresArray(changed.map(\.authors)),
                        PostgresArray(changed.map(\.year)), PostgresArray(changed.map(\.language)), PostgresArray(changed.map(\.isbn13)),
                        PostgresArray(changed.map(\.description)), PostgresArray(try changed.map { try StoredValues.json($0.tags) }),
                        PostgresArray(try changed.map { try StoredValues.json($0.genres) }), PostgresArray(changed.map(\.textHash)),
                    ])
            }
            let storedCovers = try Self.coverHashes(try connection.query("SELECT bookId, contentHash FROM cover"))
            let changedCovers = summary.coversToWrite(covers, storedHashes: storedCovers)
            if !changedCovers.isEmpty {
                try connection.query(
                    """
                    INSERT INTO cover (bookId, bytes, contentHash) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[])
                    ON CONFLICT (bookId) DO UPDATE SET bytes = excluded.bytes, contentHash = excluded.contentHash
                    """,
                    [PostgresArray(changedCovers.map(\.bookID)), PostgresArray(changedCovers.map(\.bytes)), PostgresArray(changedCovers.map(\.hash))])
            }
            // Inserted rows have xmax 0; updated ones do not; a rating stored as given is neither.
            for start in stride(from: 0, to: ratings.count, by: Self.ratingBatch) {
                let batch = ratings[start..<min(start + Self.ratingBatch, ratings.count)]
                let counts = try connection.query(
                    """
                    WITH upserted AS (
                      INSERT INTO rating (userId, bookId, rating) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
                      ON CONFLICT (userId, bookId) DO UPDATE SET rating = excluded.rating WHERE rating.rating <> excluded.rating
                      RETURNING xmax = 0 AS inserted)
                    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
                    """,
                    [PostgresArray(batch.map(\.user)), PostgresArray(batch.map(\.book)), PostgresArray(batch.map(\.rating))])
                let added = counts.int(0, 0), changed = counts.int(0, 1)
                summary.ratingsAdded += added
                summary.ratingsChanged += changed
                summary.unchanged += batch.count - added - changed
            }
            return summary
        }
    }

    public func loadCatalog(includingRatings: Bool) throws -> StoredCatalog {
        try readSnapshot { connection in
            let books = try Self.books(try connection.query("SELECT \(Self.bookColumns) FROM book ORDER BY id"))
            var ratings: [Rating] = []
            if includingRatings {
                let rows = try connection.query("SELECT userId, bookId, rating FROM rating ORDER BY userId, bookId")
                ratings.reserveCapacity(rows.count)
                for row in 0..<rows.count { ratings.append(Rating(user: rows.int(row, 0), book: rows.int(row, 1), rating: rows.int(row, 2))) }
            }
            let covers = Self.coverHashes(try connection.query("SELECT bookId, contentHash FROM cover"))
            return StoredCatalog(books: books, ratings: ratings, coverHashes: covers)
        }
    }

    public func bookIDs() throws -> Set<Int> {
        try read { connection in Self.ints(try connection.query("SELECT id FROM book")) }
    }

    public func ratedBookIDs() throws -> Set<Int> {
        try read { connection in Self.ints(try connection.query("SELECT DISTINCT bookId FROM rating")) }
    }

    public func coverBytes(bookID: Int) throws -> Data? {
        try read { connection in
            let rows = try connection.query("SELECT bytes FROM cover WHERE bookId = $1", [bookID])
            return rows.count == 0 ? nil : rows.data(0, 0)
        }
    }

    public func coverHashes(bookIDs: [Int]) throws -> [Int: String] {
        try read { connection in
            Self.coverHashes(try connection.query("SELECT bookId, contentHash FROM cover WHERE bookId = ANY($1::bigint[])", [PostgresArray(bookIDs)]))
        }
    }

    public func books(ids: [Int]) throws -> [Book] {
        if ids.isEmpty { return [] }
        return try read { connection in
            try Self.books(try connection.query("SELECT \(Self.bookColumns) FROM book WHERE id = ANY($1::bigint[]) ORDER BY id", [PostgresArray(ids)]))
        }
    }

    public func bookTitles(ids: [Int]) throws -> [Int: (title: String, authors: String)] {
        if ids.isEmpty { return [:] }
        return try read { connection in
            let rows = try connection.query("SELECT id, title, authors FROM book WHERE id = ANY($1::bigint[])", [PostgresArray(ids)])
            var titles: [Int: (title: String, authors: String)] = [:]
            for row in 0..<rows.count { titles[rows.int(row, 0)] = (rows.string(row, 1), rows.string(row, 2)) }
            return titles
        }
    }

    public func ratings(userIDs: [Int]) throws -> [Int: [Rating]] {
        try read { connection in
            var result = Dictionary(userIDs.map { ($0, [Rating]()) }, uniquingKeysWith: { a, _ in a })
            let rows = try connection.query(
                "SELECT userId, bookId, rating FROM rating WHERE userId = ANY($1::bigint[]) ORDER BY userId, bookId", [PostgresArray(userIDs)])
            for row in 0..<rows.count {
                let user = rows.int(row, 0)
                result[user, default: []].append(Rating(user: user, book: rows.int(row, 1), rating: rows.int(row, 2)))
            }
            return result
        }
    }

    static let bookColumns = "id, title, authors, year, language, isbn13, description, tags, genres"

    static func books(_ rows: PostgresRows) throws -> [Book] {
        try (0..<rows.count).map { row in
            let id = rows.int(row, 0)
            return Book(
                id: id, title: rows.string(row, 1), authors: rows.string(row, 2), year: rows.optionalInt(row, 3), language: rows.string(row, 4),
                isbn13: rows.string(row, 5), description: rows.string(row, 6),
                tags: try StoredValues.names(rows.string(row, 7), column: "tags", bookID: id),
                genres: try StoredValues.names(rows.string(row, 8), column: "genres", bookID: id))
        }
    }

    static func coverHashes(_ rows: PostgresRows) -> [Int: String] {
        var hashes: [Int: String] = [:]
        for row in 0..<rows.count { hashes[rows.int(row, 0)] = rows.string(row, 1) }
        return hashes
    }

    static func ints(_ rows: PostgresRows) -> Set<Int> {
        Set((0..<rows.count).map { rows.int($0, 0) })
    }
}

import BookrecCore
import Foundation
import GRDB

extension SQLiteStore {
    /// Adds or updates books, covers and ratings in one transaction; rows that are already
    /// stored as given are left alone, so importing the same data twice changes nothing.
    public func importCatalog(books: [Book], covers: [Int: Data], ratings: [Rating]) throws -> ImportSummary {
        try write("importing the catalog") { db in
            var summary = ImportSummary()
            let storedBooks = try Dictionary(
                Row.fetchAll(db, sql: "SELECT id, title, authors, year, language, isbn13, description, tags, genres FROM book").map {
                    (Int($0["id"] as Int64), try Self.book(from: $0))
                }, uniquingKeysWith: { a, _ in a })
            for book in summary.booksToWrite(books, stored: storedBooks) {
                try db.execute(
                    sql: """
                        INSERT INTO book (id, title, authors, year, language, isbn13, description, tags, genres, textHash)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET title = excluded.title, authors = excluded.authors, year = excluded.year,
                          language = excluded.language, isbn13 = excluded.isbn13, description = excluded.description,
                          tags = excluded.tags, genres = excluded.genres, textHash = excluded.textHash
                        """,
                    arguments: [
                        book.id, book.title, book.authors, book.year, book.language, book.isbn13, book.description,
                        try StoredValues.json(book.tags), try StoredValues.json(book.genres), book.textHash,
                    ])
            }
            let coverHashes = try Dictionary(
                Row.fetchAll(db, sql: "SELECT bookId, contentHash FROM cover").map { (Int($0["bookId"] as Int64), $0["contentHash"] as String) },
                uniquingKeysWith: { a, _ in a })
            for (bookID, bytes, hash) in summary.coversToWrite(covers, storedHashes: coverHashes) {
                try db.execute(
                    sql: "INSERT INTO cover (bookId, bytes, contentHash) VALUES (?, ?, ?) ON CONFLICT(bookId) DO UPDATE SET bytes = excluded.bytes, contentHash = excluded.contentHash",
                    arguments: [bookID, bytes, hash])
            }
            let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO rating (userId, bookId, rating) VALUES (?, ?, ?)")
            let update = try db.makeStatement(sql: "UPDATE rating SET rating = ? WHERE userId = ? AND bookId = ? AND rating != ?")
            for rating in ratings {
                try insert.execute(arguments: [rating.user, rating.book, rating.rating])
                if db.changesCount == 1 {
                    summary.ratingsAdded += 1
                    continue
                }
                try update.execute(arguments: [rating.rating, rating.user, rating.book, rating.rating])
                if db.changesCount == 1 { summary.ratingsChanged += 1 } else { summary.unchanged += 1 }
            }
            return summary
        }
    }

    /// Books, cover hashes and (unless `includingRatings` is false) every rating, ordered by id.
    public func loadCatalog(includingRatings: Bool) throws -> StoredCatalog {
        try read { db in
            let books = try Row.fetchAll(db, sql: "SELECT * FROM book ORDER BY id").map(Self.book(from:))
            let ratings = !includingRatings ? [] : try Row.fetchAll(db, sql: "SELECT userId, bookId, rating FROM rating ORDER BY userId, bookId").map {
                Rating(user: $0["userId"], book: $0["bookId"], rating: $0["rating"])
            }
            let covers = try Dictionary(
                Row.fetchAll(db, sql: "SELECT bookId, contentHash FROM cover").map { (Int($0["bookId"] as Int64), $0["contentHash"] as String) },
                uniquingKeysWith: { a, _ in a })
            return StoredCatalog(books: books, ratings: ratings, coverHashes: covers)
        }
    }

    public func bookIDs() throws -> Set<Int> {
        try read { db in Set(try Int.fetchAll(db, sql: "SELECT id FROM book")) }
    }

    /// The books that have at least one rating.
    public func ratedBookIDs() throws -> Set<Int> {
        try read { db in Set(try Int.fetchAll(db, sql: "SELECT DISTINCT bookId FROM rating")) }
    }

    /// The encoded bytes of a book's cover, if it has one.
    public func coverBytes(bookID: Int) throws -> Data? {
        try read { db in try Data.fetchOne(db, sql: "SELECT bytes FROM cover WHERE bookId = ?", arguments: [bookID]) }
    }

    public func books(ids: [Int]) throws -> [Book] {
        if ids.isEmpty { return [] }
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM book WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ","))) ORDER BY id", arguments: StatementArguments(ids))
                .map(Self.book(from:))
        }
    }

    /// Titles and authors only: what a list shows, without decoding each book's tags and genres.
    public func bookTitles(ids: [Int]) throws -> [Int: (title: String, authors: String)] {
        if ids.isEmpty { return [:] }
        return try read { db in
            var titles: [Int: (title: String, authors: String)] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, title, authors FROM book WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))", arguments: StatementArguments(ids))
            while let row = try rows.next() { titles[row["id"]] = (row["title"], row["authors"]) }
            return titles
        }
    }

    static func book(from row: Row) throws -> Book {
        let id: Int = row["id"]
        func names(_ column: String) throws -> [String] { try StoredValues.names(row[column], column: column, bookID: id) }
        return Book(
            id: id, title: row["title"], authors: row["authors"], year: row["year"], language: row["language"],
            isbn13: row["isbn13"], description: row["description"], tags: try names("tags"), genres: try names("genres"))
    }
}

extension SQLiteStore {
    /// Content hashes of the covers of these books (books without a cover are absent).
    public func coverHashes(bookIDs: [Int]) throws -> [Int: String] {
        try read { db in
            var result: [Int: String] = [:]
            let statement = try db.makeStatement(sql: "SELECT contentHash FROM cover WHERE bookId = ?")
            for id in bookIDs {
                if let hash = try String.fetchOne(statement, arguments: [id]) { result[id] = hash }
            }
            return result
        }
    }
}

import BookrecCore
import BookrecData
import BookrecStore
import XCTest

final class ImportTests: XCTestCase {
    func testTheRealSliceImportsCleanly() throws {
        let catalog = GoodbooksLoader(directory: Fixtures.slice).load()
        XCTAssertEqual(catalog.problems, [])
        XCTAssertEqual(catalog.books.count, 300)
        XCTAssertEqual(catalog.ratings.count, 19490)
        XCTAssertEqual(catalog.covers.count, 149)
        let first = try XCTUnwrap(catalog.books.first)
        XCTAssertEqual(first.title, "The Hunger Games (The Hunger Games, #1)")
        XCTAssertEqual(first.authors, "Suzanne Collins")
        XCTAssertEqual(first.year, 2008)
        XCTAssertFalse(first.tags.isEmpty)
        XCTAssertLessThanOrEqual(first.tags.count, 20)
        let harry = try XCTUnwrap(catalog.books.first { $0.id == 2 })
        XCTAssertTrue(harry.description.contains("Hagrid"), "descriptions are joined to their books")
        XCTAssertTrue(catalog.books.contains { $0.genres.contains("Fantasy") })
        XCTAssertTrue(first.text.hasPrefix("The Hunger Games (The Hunger Games, #1) by Suzanne Collins."))
    }

    func testEveryBadRowAndFileIsNamedAndTheGoodRowsImport() throws {
        let catalog = GoodbooksLoader(directory: Fixtures.badInput).load()
        let messages = catalog.problems.map { $0.description.replacingOccurrences(of: Fixtures.badInput.path + "/", with: "") }
        let expected = [
            "books.csv:4: text after a closing quote in field 10",
            "books.csv:5: expected 13 fields, found 10",
            "books.csv:6: invalid UTF-8 in field 7",
            "books.csv:7: duplicate book_id 1",
            "books.csv:8: book_id \"x\" is not a positive integer",
            "ratings.csv:3: rating \"0\" is not an integer from 1 to 5",
            "ratings.csv:4: rating \"6\" is not an integer from 1 to 5",
            "ratings.csv:5: rating \"x\" is not an integer from 1 to 5",
            "ratings.csv:6: unknown book_id 999",
            "ratings.csv:8: duplicate rating of book 1 by user 11 (first on line 7)",
            "ratings.csv:10: user_id \"-1\" is not a positive integer",
            "ratings.csv:12: expected 3 fields, found 4",
            "tags.csv:4: tag_id is not an integer",
            "book_tags.csv:4: unknown tag_id \"99\"",
            "book_tags.csv:5: unknown book_id 999",
            "book_tags.csv:6: weight \"2.5\" is not a number in 0…1",
            "book_genres.csv:3: genres \"not a list\" is not a list of quoted names",
            "book_descriptions.csv:3: unknown book_id 999",
            "book_descriptions.csv:4: unterminated quoted field 3",
            "covers/7.jpg: JPEG: Premature end of JPEG file",
            "covers/bomb.png: PNG: 30000x30000 pixels exceeds the limit of 40000000",
            "covers/text.jpg: not a JPEG or PNG file (unrecognised signature)",
            "covers/empty.png: empty file",
            "covers_manifest.csv:10: unknown book_id 999",
            "covers_manifest.csv:11: cover file covers/missing.jpg cannot be read: No such file or directory",
        ]
        for message in expected {
            XCTAssertTrue(messages.contains(message), "missing problem: \(message)\nall: \(messages.joined(separator: "\n"))")
        }
        XCTAssertTrue(messages.contains { $0.hasPrefix("covers/8.jpg: JPEG: ") }, "corrupt JPEG is named")
        XCTAssertTrue(messages.contains { $0.hasPrefix("covers/truncated.png: PNG: ") }, "truncated PNG is named")
        XCTAssertTrue(messages.contains { $0.hasPrefix("covers/corrupt.png: PNG: ") }, "corrupt PNG (damaged image data) is named")
        XCTAssertEqual(messages.count, 28, "one problem per bad row or file:\n\(messages.joined(separator: "\n"))")
        XCTAssertEqual(catalog.books.map(\.id), [1, 2, 7, 8])
        XCTAssertEqual(catalog.books.first { $0.id == 7 }?.title, "Seventh, with a\nline break")
        XCTAssertEqual(catalog.ratings, [Rating(user: 10, book: 1, rating: 5), Rating(user: 11, book: 1, rating: 4), Rating(user: 12, book: 2, rating: 3), Rating(user: 12, book: 8, rating: 5)])
        XCTAssertEqual(catalog.covers.keys.sorted(), [1, 2])
        XCTAssertEqual(catalog.books.first { $0.id == 1 }?.tags, ["fantasy"])
        XCTAssertEqual(catalog.books.first { $0.id == 8 }?.description, "Eighth description")
        // Every file's rows are counted, accepted and rejected.
        let counts = Dictionary(uniqueKeysWithValues: catalog.counts.map { (URL(fileURLWithPath: $0.key).lastPathComponent, [$0.value.accepted, $0.value.rejected]) })
        XCTAssertEqual(counts, [
            "books.csv": [4, 5], "ratings.csv": [4, 7], "tags.csv": [2, 1], "book_tags.csv": [2, 3], "book_genres.csv": [2, 1],
            "book_descriptions.csv": [2, 2], "covers_manifest.csv": [2, 9],
        ])
    }

    func testImportingTwiceChangesNothingAndBadInputLosesNothingStored() throws {
        let path = Fixtures.temporaryStorePath()
        let store = try SQLiteStore(path: path)
        let slice = GoodbooksLoader(directory: Fixtures.slice).load()
        let first = try store.importCatalog(books: slice.books, covers: slice.covers, ratings: slice.ratings)
        XCTAssertEqual(first.booksAdded, 300)
        XCTAssertEqual(first.ratingsAdded, 19490)
        XCTAssertEqual(first.coversAdded, 149)
        let stored = try store.loadCatalog()
        let second = try store.importCatalog(books: slice.books, covers: slice.covers, ratings: slice.ratings)
        XCTAssertEqual(second, ImportSummary(unchanged: 300 + 149 + 19490))
        let again = try store.loadCatalog()
        XCTAssertEqual(again.books, stored.books)
        XCTAssertEqual(again.ratings, stored.ratings)

        // The bad folder's good rows overwrite books 1, 2, 7, 8 and add ratings; nothing else moves.
        let bad = GoodbooksLoader(directory: Fixtures.badInput).load()
        let summary = try store.importCatalog(books: bad.books, covers: bad.covers, ratings: bad.ratings)
        XCTAssertEqual(summary.booksChanged, 4)
        let after = try store.loadCatalog()
        XCTAssertEqual(after.books.count, 300)
        XCTAssertEqual(after.books.filter { ![1, 2, 7, 8].contains($0.id) }, stored.books.filter { ![1, 2, 7, 8].contains($0.id) })
        XCTAssertEqual(after.ratings.count, stored.ratings.count + summary.ratingsAdded)
        XCTAssertTrue(Set(stored.ratings.map { "\($0.user)-\($0.book)" }).isSubset(of: Set(after.ratings.map { "\($0.user)-\($0.book)" })))
    }
}

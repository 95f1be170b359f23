import BookrecCore
import BookrecData
import Foundation
import XCTest

final class NewBooksParserTests: XCTestCase {
    let folder = Fixtures.root.appendingPathComponent("Tests/Fixtures/new-books")

    func testCSVBooksCarryTextTagsGenresAndCovers() throws {
        let parsed = NewBooksParser().parse(file: folder.appendingPathComponent("new-books.csv"))
        XCTAssertEqual(parsed.problems, [])
        XCTAssertEqual(parsed.books.map(\.id), [301, 302, 303, 304, 305, 306, 307, 308, 323, 329, 330, 341])
        XCTAssertEqual(Set(parsed.covers.keys), [323, 329, 330])
        let book = try XCTUnwrap(parsed.books.first { $0.id == 323 })
        XCTAssertFalse(book.title.isEmpty)
        XCTAssertFalse(book.tags.isEmpty)
        XCTAssertFalse(book.genres.isEmpty)
        XCTAssertNotNil(book.year)
        XCTAssertEqual(parsed.bookOrigins[323]?.line, 10)
    }

    func testJSONLinesTakeArraysAndNumbersAndNameBadLines() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("new-books-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try """
            {"book_id": 7001, "title": "Tide Tables", "authors": "R. Moss", "original_publication_year": 2020, "tags": ["sea", "poetry"], "genres": "Poetry|Nature"}
            {"book_id": 7002, "title": "Broken
            not json at all

            {"book_id": "x", "title": "T", "authors": "A"}
            {"book_id": 7003, "title": "Nested", "authors": "A", "tags": {"a": 1}}
            {"book_id": 7004, "title": "Second", "authors": "B. Lee", "description": "A short one.", "cover": "covers/323.jpg"}
            """.write(to: file, atomically: true, encoding: .utf8)
        // The cover path is relative to the file's folder; this one has none, so it is reported.
        let parsed = NewBooksParser().parse(file: file)
        XCTAssertEqual(parsed.books.map(\.id), [7001])
        let first = parsed.books[0]
        XCTAssertEqual(first.tags, ["sea", "poetry"])
        XCTAssertEqual(first.genres, ["Poetry", "Nature"])
        XCTAssertEqual(first.year, 2020)
        let messages = parsed.problems.map { "\($0.line ?? 0): \($0.reason)" }
        XCTAssertEqual(messages.count, 5, "\(messages)")
        XCTAssertTrue(messages.contains("2: not a JSON object on one line"), "\(messages)")
        XCTAssertTrue(messages.contains("3: not a JSON object on one line"), "\(messages)")
        XCTAssertTrue(messages.contains("5: book_id \"x\" is not a positive integer"), "\(messages)")
        XCTAssertTrue(messages.contains("6: \"tags\" must be a string, a number or a list of strings"), "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("7: cover ") && $0.hasSuffix("cannot be read") }, "\(messages)")
        XCTAssertEqual(parsed.counts[file.path]?.accepted, 1)
        XCTAssertEqual(parsed.counts[file.path]?.rejected, 5)
    }

    func testARejectedBookLeavesTheImportWithItsLineAndCounts() {
        var parsed = NewBooksParser().parse(file: folder.appendingPathComponent("new-books.csv"))
        parsed.reject(book: 323, reason: "already in the catalog")
        XCTAssertFalse(parsed.books.contains { $0.id == 323 })
        XCTAssertNil(parsed.covers[323])
        XCTAssertEqual(parsed.problems.map(\.description), ["\(folder.path)/new-books.csv:10: already in the catalog"])
        XCTAssertEqual(parsed.counts[folder.appendingPathComponent("new-books.csv").path]?.accepted, 11)
    }
}

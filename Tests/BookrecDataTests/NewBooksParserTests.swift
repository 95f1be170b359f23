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
        XCTAssertTrue(messages.contains { $0.hasPrefix("7: cover ") && $0.hasSuffix("cannot be read: No such file or directory") }, "\(messages)")
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

final class NumericEdgeTests: XCTestCase {
    func temporaryFile(_ name: String, _ text: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-edges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// JSON numbers of any size are read exactly or refused with the row's reason, never converted.
    func testJSONNumbersOfAnySizeAreReadExactlyOrRefused() throws {
        let file = try temporaryFile("new.jsonl", """
            {"book_id": 9223372036854775808, "title": "Past Int64", "authors": "A"}
            {"book_id": 1e30, "title": "Huge", "authors": "A"}
            {"book_id": 9007199254740993, "title": "Past double precision", "authors": "A"}
            {"book_id": 7100, "title": "Far future", "authors": "A", "original_publication_year": 1e30}
            {"book_id": 7101, "title": "Not a year", "authors": "A", "original_publication_year": "nan"}
            {"book_id": 7102, "title": "Written as a float", "authors": "A", "original_publication_year": 1997.0}
            {"book_id": 7103, "title": "Half a year", "authors": "A", "original_publication_year": 1997.5}
            """)
        let parsed = NewBooksParser().parse(file: file)
        XCTAssertEqual(parsed.books.map(\.id), [9_007_199_254_740_993, 7102])
        XCTAssertEqual(parsed.books.last?.year, 1997)
        let messages = parsed.problems.map { "\($0.line ?? 0): \($0.reason)" }
        XCTAssertEqual(messages.sorted(), [
            "1: book_id \"9223372036854775808\" is not a positive integer",
            "2: book_id \"1e+30\" is not a positive integer",
            "4: original_publication_year \"1e+30\" is not a year",
            "5: original_publication_year \"nan\" is not a year",
            "7: original_publication_year \"1997.5\" is not a year",
        ])
    }

    func testYearsThatAreNotYearsRejectTheirRowAtImport() throws {
        let books = try temporaryFile("books.csv", """
            book_id,title,authors,original_publication_year
            1,Fine,A,1997.0
            2,Not a number,A,nan
            3,Infinite,A,inf
            4,Far,A,1e30
            5,Ancient,A,-720.0
            6,Unknown,A,
            """)
        let catalog = GoodbooksLoader(directory: books.deletingLastPathComponent()).load()
        XCTAssertEqual(catalog.books.map(\.id), [1, 5, 6])
        XCTAssertEqual(catalog.books.map(\.year), [1997, -720, nil])
        let messages = catalog.problems.map(\.description).filter { $0.contains("books.csv:") }
        XCTAssertEqual(messages.map { String($0[$0.range(of: "books.csv:")!.lowerBound...]) }, [
            "books.csv:3: original_publication_year \"nan\" is not a year",
            "books.csv:4: original_publication_year \"inf\" is not a year",
            "books.csv:5: original_publication_year \"1e30\" is not a year",
        ])
    }

    /// Reader ids are any positive 64-bit integer: 2^32 + 1 is not reader 1.
    func testLargeReaderIDsDoNotCollide() throws {
        let ratings = try temporaryFile("ratings.csv", """
            user_id,book_id,rating
            1,1,5
            4294967297,1,4
            9223372036854775807,1,3
            9223372036854775807,1,2
            """)
        let parsed = RatingsParser.parse(file: ratings, known: [1])
        XCTAssertEqual(parsed.ratings.map(\.user), [1, 4_294_967_297, Int.max])
        XCTAssertEqual(parsed.problems.map(\.reason), ["duplicate rating of book 1 by user 9223372036854775807 (first on line 4)"])
    }
}

/// Covers are read only from inside their folder, and only up to the size limit.
final class CoverFileRulesTests: XCTestCase {
    func testCoverPathsStayInsideTheirFolderAndUnderTheSizeLimit() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-covers-\(UUID().uuidString)")
        let folder = base.appendingPathComponent("new"), elsewhere = base.appendingPathComponent("elsewhere")
        for directory in [folder, elsewhere, folder.appendingPathComponent("covers")] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: base) }
        let jpeg = try Data(contentsOf: Fixtures.root.appendingPathComponent("Tests/Fixtures/new-books/covers/323.jpg"))
        try jpeg.write(to: folder.appendingPathComponent("covers/good.jpg"))
        try jpeg.write(to: elsewhere.appendingPathComponent("secret.jpg"))
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("covers/link.jpg"), withDestinationURL: elsewhere.appendingPathComponent("secret.jpg"))
        let huge = folder.appendingPathComponent("covers/huge.jpg")
        FileManager.default.createFile(atPath: huge.path, contents: nil)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(CoverFiles.defaultMaximumBytes + 1))
        try handle.close()
        let file = folder.appendingPathComponent("books.jsonl")
        try """
            {"book_id": 1, "title": "Inside", "authors": "A", "cover": "covers/good.jpg"}
            {"book_id": 2, "title": "Up and out", "authors": "A", "cover": "../elsewhere/secret.jpg"}
            {"book_id": 3, "title": "Absolute", "authors": "A", "cover": "\(elsewhere.appendingPathComponent("secret.jpg").path)"}
            {"book_id": 4, "title": "Kernel", "authors": "A", "cover": "/proc/self/environ"}
            {"book_id": 5, "title": "Through a link", "authors": "A", "cover": "covers/link.jpg"}
            {"book_id": 6, "title": "Too big", "authors": "A", "cover": "covers/huge.jpg"}
            {"book_id": 7, "title": "A folder", "authors": "A", "cover": "covers"}
            {"book_id": 8, "title": "Absolute inside", "authors": "A", "cover": "\(folder.appendingPathComponent("covers/good.jpg").path)"}
            """.write(to: file, atomically: true, encoding: .utf8)
        let parsed = NewBooksParser().parse(file: file)
        XCTAssertEqual(parsed.books.map(\.id), [1, 8])
        XCTAssertEqual(parsed.covers[1], jpeg)
        let reasons = Dictionary(uniqueKeysWithValues: parsed.problems.map { ($0.line ?? 0, $0.reason) })
        let root = folder.resolvingSymlinksInPath().path
        XCTAssertEqual(reasons[2], "cover ../elsewhere/secret.jpg is outside \(root)")
        XCTAssertEqual(reasons[3], "cover \(elsewhere.appendingPathComponent("secret.jpg").path) is outside \(root)")
        XCTAssertEqual(reasons[4], "cover /proc/self/environ is outside \(root)")
        XCTAssertEqual(reasons[5], "cover covers/link.jpg is outside \(root)")
        XCTAssertEqual(reasons[6], "cover covers/huge.jpg is 20000001 bytes, over the limit of 20000000")
        XCTAssertEqual(reasons[7], "cover covers is not a regular file")

        // With --covers-root, paths are read from (and must stay inside) that folder instead:
        // ../elsewhere/secret.jpg from there resolves inside it.
        let rooted = NewBooksParser(coversRoot: elsewhere).parse(file: file)
        XCTAssertEqual(rooted.books.map(\.id), [2, 3])
        XCTAssertEqual(rooted.covers[3], jpeg)
    }
}

import BookrecCore
import BookrecData
@testable import BookrecPipeline
@testable import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// Seeded mutation fuzzing of everything bookrec reads from outside: catalog CSV rows, new-books
/// JSON lines and CSV, ratings files, and job bodies handed to a worker. No input may crash the
/// process, and what is accepted must still be valid: a crash fails the whole test run.
final class FuzzTests: XCTestCase {
    var generator = SeededGenerator(seed: 2026)
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Values that have broken parsers: numbers at and past every limit, non-numbers, quotes,
    /// control and non-ASCII characters, and a very long field.
    static let hostile = [
        "nan", "NaN", "inf", "-inf", "1e30", "-1e30", "1e-30", "-1", "0", "-0", "1.5", "4294967297", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "0x10", " 5", "5 ", "٣", "", "\"", "\"\"\"", "\"a,b\"",
        ",,,", "\u{0}", "\u{FEFF}", "\u{202E}", "é", "😀", "[]", "{}", "null", "true", "[\"a\", 1]", "{\"a\": [1, {\"b\": null}]}",
        String(repeating: "9", count: 400), String(repeating: "x", count: 20_000),
    ]

    func mutate(_ line: String, separator: Character) -> String {
        var fields = line.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0, 1:
            if !fields.isEmpty { fields[Int.random(in: 0..<fields.count, using: &generator)] = Self.hostile.randomElement(using: &generator)! }
        case 2:
            if !fields.isEmpty { fields.remove(at: Int.random(in: 0..<fields.count, using: &generator)) }
        case 3:
            fields.append(Self.hostile.randomElement(using: &generator)!)
        case 4:
            let joined = fields.joined(separator: String(separator))
            return String(joined.prefix(Int.random(in: 0...joined.count, using: &generator)))
        default:
            var bytes = Array(line.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        return fields.joined(separator: String(separator))
    }

    func mutatedLines(_ lines: [String], separator: Character, count: Int) -> String {
        var mutated = lines
        for _ in 0..<count {
            let index = Int.random(in: 1..<mutated.count, using: &generator)
            mutated[index] = mutate(mutated[index], separator: separator)
        }
        return mutated.joined(separator: "\n")
    }

    func testMutatedCatalogsNewBooksAndRatingsNeverCrashAndWhatIsAcceptedIsValid() throws {
        let tiny = TestCluster.tiny
        let books = try String(contentsOf: tiny.appendingPathComponent("books.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        let ratings = try String(contentsOf: tiny.appendingPathComponent("ratings.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        let catalog = directory.appendingPathComponent("catalog")
        try FileManager.default.createDirectory(at: catalog, withIntermediateDirectories: true)
        var rowsRead = 0
        for _ in 0..<60 {
            try mutatedLines(books, separator: ",", count: 8).write(to: catalog.appendingPathComponent("books.csv"), atomically: false, encoding: .utf8)
            try mutatedLines(Array(ratings.prefix(400)), separator: ",", count: 40)
                .write(to: catalog.appendingPathComponent("ratings.csv"), atomically: false, encoding: .utf8)
            let loaded = GoodbooksLoader(directory: catalog).load()
            let ids = Set(loaded.books.map(\.id))
            for book in loaded.books {
                XCTAssertGreaterThan(book.id, 0)
                XCTAssertFalse(book.title.trimmingCharacters(in: .whitespaces).isEmpty)
                XCTAssertLessThan(abs(book.year ?? 0), 10_000)
            }
            var pairs = Set<[Int]>()
            for rating in loaded.ratings {
                XCTAssertTrue(rating.user > 0 && ids.contains(rating.book) && (1...5).contains(rating.rating), "\(rating)")
                XCTAssertTrue(pairs.insert([rating.user, rating.book]).inserted, "one rating per reader and book")
            }
            rowsRead += loaded.counts.values.reduce(0) { $0 + $1.accepted + $1.rejected }
        }

        let newBooks = directory.appendingPathComponent("new.jsonl")
        let template = #"{"book_id": 7001, "title": "Tide Tables", "authors": "R. Moss", "original_publication_year": 2020, "tags": ["sea", "poetry"], "genres": "Poetry|Nature", "description": "Waves."}"#
        for _ in 0..<1_500 {
            let lines = [""] + (0..<4).map { _ in mutate(template, separator: ",") }
            try lines.joined(separator: "\n").write(to: newBooks, atomically: false, encoding: .utf8)
            let parsed = NewBooksParser().parse(file: newBooks)
            for book in parsed.books {
                XCTAssertGreaterThan(book.id, 0)
                XCTAssertLessThan(abs(book.year ?? 0), 10_000)
            }
            rowsRead += 4
        }
        let ratingsFile = directory.appendingPathComponent("more-ratings.csv")
        for _ in 0..<1_500 {
            try mutatedLines(Array(ratings.prefix(5)), separator: ",", count: 4).write(to: ratingsFile, atomically: false, encoding: .utf8)
            let parsed = RatingsParser.parse(file: ratingsFile, known: Set(1...24))
            XCTAssertTrue(parsed.ratings.allSatisfy { $0.user > 0 && (1...24).contains($0.book) && (1...5).contains($0.rating) })
            rowsRead += 4
        }
        print("fuzz: \(rowsRead) mutated rows and lines read by import, add-books and add-ratings without a crash")
    }

    /// Mutated job bodies handed to a real worker over a real SQLite store: each one is
    /// acknowledged, retried or dead-lettered, never run against the plan's shards, and the
    /// process survives.
    func testMutatedJobBodiesAreRefusedOrHandledWithoutACrash() throws {
        let store = try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path)
        let generationID = try store.createGeneration(kind: "full", parentID: nil, configuration: RunConfiguration().encoded())
        try store.planShards(generationID: generationID, kind: .encode, shards: [[1, 2, 3]])
        try store.planShards(generationID: generationID, kind: .score, shards: [[10, 11]])
        let worker = Worker(store: store, url: AMQPURL(), options: Worker.Options(), stop: StopSignal(), log: { _ in })
        let template = #"{"schema_version":1,"job_id":"g1-score-0","generation":1,"kind":"score","shard":{"index":0,"ids":[10,11]},"attempt":1,"parameters":{"round":"0"}}"#
        var outcomes: [String: Int] = [:]
        for iteration in 0..<3_000 {
            var body = mutate(template, separator: ",")
            if iteration % 3 == 0 { body = mutate(body, separator: ":") }
            let delivery = Delivery(
                queue: "bookrec.score", deliveryTag: UInt64(iteration), redelivered: false, exchange: "", routingKey: "bookrec.score",
                body: Data(body.utf8), contentType: nil, messageID: nil, headers: [:])
            switch worker.handle(delivery) {
            case .ack: outcomes["ack", default: 0] += 1
            case .deadLetter: outcomes["dead-letter", default: 0] += 1
            case .retry: outcomes["retry", default: 0] += 1
            case .requeue: outcomes["requeue", default: 0] += 1
            }
        }
        XCTAssertGreaterThan(outcomes["dead-letter"] ?? 0, 2_000, "\(outcomes)")
        let shards = try store.shards(generationID: generationID)
        XCTAssertEqual(shards.map(\.ids), [[1, 2, 3], [10, 11]], "the plan is what it was")
        XCTAssertFalse(shards.contains { $0.state == .done }, "no mutated job completed a shard: \(shards)")
        print("fuzz: 3000 mutated job bodies: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))")
    }
}

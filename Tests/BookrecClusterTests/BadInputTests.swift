import BookrecStore
import Foundation
import XCTest

/// The bad-input corpus imported by the real `bookrec-coordinator import` into a store that holds
/// a catalog and an active generation: every bad row and file is reported with file:line or file
/// and a reason and counted, the good rows are imported, and nothing already stored is lost.
final class BadInputTests: XCTestCase {
    func testImportingTheBadCorpusReportsEveryProblemAndLosesNothingStored() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", KilledWorkerTests.runArguments)
        XCTAssertEqual(run.status, 0, run.error)
        let exportBefore = try cluster.export(k: 10)
        let before = try SQLiteStore(path: cluster.storeLocation, readOnly: true).loadCatalog()

        let bad = TestCluster.root.appendingPathComponent("Tests/Fixtures/bad-input")
        let imported = try cluster.run("bookrec-coordinator", ["import", "--data", bad.path])
        XCTAssertEqual(imported.status, 0, "the good rows are imported: \(imported.error)")
        let report = imported.error.replacingOccurrences(of: bad.path + "/", with: "")
        XCTAssertTrue(report.contains("28 rows or files skipped:"), report)
        for line in [
            "books.csv:4: text after a closing quote in field 10", "books.csv:5: expected 13 fields, found 10",
            "books.csv:6: invalid UTF-8 in field 7", "books.csv:7: duplicate book_id 1",
            "ratings.csv:3: rating \"0\" is not an integer from 1 to 5", "ratings.csv:4: rating \"6\" is not an integer from 1 to 5",
            "ratings.csv:5: rating \"x\" is not an integer from 1 to 5", "ratings.csv:6: unknown book_id 999",
            "ratings.csv:8: duplicate rating of book 1 by user 11 (first on line 7)",
            "covers/7.jpg: JPEG: Premature end of JPEG file",
            "books.csv: 4 accepted, 5 rejected", "ratings.csv: 4 accepted, 7 rejected", "covers_manifest.csv: 2 accepted, 9 rejected",
        ] {
            XCTAssertTrue(report.contains(line), "the import reports \(line)\n\(report)")
        }
        XCTAssertTrue(imported.output.contains("4 ratings added"), imported.output)

        let after = try SQLiteStore(path: cluster.storeLocation, readOnly: true).loadCatalog()
        let named = Set([1, 2, 7, 8])  // the bad corpus's good book rows
        XCTAssertEqual(after.books.count, before.books.count, "no book lost, none added from bad rows")
        XCTAssertEqual(after.books.filter { !named.contains($0.id) }, before.books.filter { !named.contains($0.id) })
        XCTAssertEqual(Set(after.ratings.map { "\($0.user)-\($0.book)-\($0.rating)" }).subtracting(before.ratings.map { "\($0.user)-\($0.book)-\($0.rating)" }).count, 4,
                       "the 4 good ratings added, no stored rating changed")
        XCTAssertTrue(Set(before.ratings.map { "\($0.user)-\($0.book)-\($0.rating)" }).isSubset(of: after.ratings.map { "\($0.user)-\($0.book)-\($0.rating)" }))
        // Books 7 and 8 were offered only broken covers (truncated and corrupt JPEG, text, empty file).
        XCTAssertEqual(after.coverHashes[7], before.coverHashes[7])
        XCTAssertEqual(after.coverHashes[8], before.coverHashes[8])
        XCTAssertEqual(after.coverHashes.count, before.coverHashes.count)
        XCTAssertTrue(try cluster.export(k: 10) == exportBefore, "the active generation is untouched by an import")
        print("bad-input corpus: 28 problems reported with file:line or file and counted per file; 4 books, 2 covers, 4 ratings imported; nothing stored lost; export unchanged")
    }

    /// Every number `run` takes is checked before anything starts, with a message naming the option.
    func testNumbersOutOfRangeAreRefusedBeforeAnythingStarts() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        for (arguments, message) in [
            (["--encode-shard-size=-1"], "--encode-shard-size must be at least 1 (got -1)"),
            (["--train-shard-size", "0"], "--train-shard-size must be at least 1 (got 0)"),
            (["--score-shard-size", "0"], "--score-shard-size must be at least 1 (got 0)"),
            (["--top-k", "0"], "--top-k must be at least 1 (got 0)"),
            (["--fused-dimension", "33"], "--fused-dimension must be an even number of at least 2 (got 33)"),
            (["--fused-dimension", "64", "--factors", "16"], "--factors must be at least half of --fused-dimension, 32 (got 16)"),
            (["--epochs=-2"], "--epochs must be 0 or more (got -2)"),
        ] {
            let run = try cluster.run("bookrec-coordinator", ["run"] + arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.error)")
            XCTAssertTrue(run.error.contains(message), "\(arguments): \(run.error)")
        }
        XCTAssertNil(try SQLiteStore(path: cluster.storeLocation, readOnly: true).activeGenerationID(), "nothing ran")

        for (executable, arguments, message) in [
            ("bookrec-worker", ["--concurrency", "0"], "--concurrency must be from 1 to 64 (got 0)"),
            ("bookrec-worker", ["--concurrency", "100000"], "--concurrency must be from 1 to 64 (got 100000)"),
            ("bookrec-query", ["recommend", "--user", "1", "-k=-5"], "-k must be at least 1 (got -5)"),
            ("bookrec-query", ["similar", "--book", "1", "-k", "0"], "-k must be at least 1 (got 0)"),
            ("bookrec-query", ["export", "-k", "0"], "-k must be at least 1 (got 0)"),
        ] {
            let refused = try cluster.run(executable, arguments, timeout: 30)
            XCTAssertEqual(refused.status, 64, "\(executable) \(arguments): \(refused.error)")
            XCTAssertTrue(refused.error.contains(message), "\(executable) \(arguments): \(refused.error)")
        }
    }
}

import BookrecCore
import BookrecStore
import Foundation
import XCTest

/// add-books, add-ratings, rollback and gc through the real executables, a real broker and a
/// real store, checked against a full rescore with the same model in this process.
final class ReindexTests: XCTestCase {
    var cluster: TestCluster!
    let newBooks = TestCluster.root.appendingPathComponent("Tests/Fixtures/new-books")
    let runArguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "40", "--score-shard-size", "250", "--top-k", "20"]

    override func setUpWithError() throws {
        cluster = try TestCluster()
        try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(run.status, 0, "coordinator failed:\n\(run.error)\nworkers:\n\(cluster.workerLogs())")
    }

    override func tearDown() {
        cluster?.tearDown()
    }

    func testAddBooksResumesAfterAKillAndMergesExactlyWhatAFullRescoreGivesAndAddingTwiceChangesNothing() throws {
        let csv = newBooks.appendingPathComponent("new-books.csv").path
        // With no worker running, the coordinator is killed once the generation and its encode
        // shard exist; run again (with a worker), it resumes that generation.
        cluster.stopWorkers()
        let interrupted = Process()
        interrupted.executableURL = TestCluster.binaries.appendingPathComponent("bookrec-coordinator")
        interrupted.arguments = ["add-books", csv]
        interrupted.environment = cluster.environment
        interrupted.standardError = FileHandle.nullDevice
        interrupted.standardOutput = FileHandle.nullDevice
        try interrupted.run()
        let probe = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let deadline = Date().addingTimeInterval(60)
        while try probe.shards(generationID: 2, kind: .encode).isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        kill(interrupted.processIdentifier, SIGKILL)
        interrupted.waitUntilExit()
        XCTAssertEqual(try probe.generation(2)?.state, .building)
        try cluster.startWorker()
        let added = try cluster.run("bookrec-coordinator", ["add-books", csv])
        XCTAssertEqual(added.status, 0, "add-books failed:\n\(added.error)\nworkers:\n\(cluster.workerLogs())")
        XCTAssertTrue(added.error.contains("resuming generation 2 (add-books)"), added.error)
        XCTAssertTrue(added.output.contains("generation 2 active: 12 new books"), added.output)

        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let newIDs = [301, 302, 303, 304, 305, 306, 307, 308, 323, 329, 330, 341]
        // Only the new books were encoded (nothing came from the cache: they are new), in one job.
        XCTAssertEqual(try store.shards(generationID: 2, kind: .encode).flatMap(\.ids), newIDs)
        XCTAssertTrue(cluster.workerLogs().contains("g2-encode-0: encoded 12 texts and 3 covers; 0 texts and 0 covers from the cache"), cluster.workerLogs())
        // Old books keep their vectors; the new ones are placed by content.
        let before = try store.bookVectors(generationID: 1), after = try store.bookVectors(generationID: 2)
        XCTAssertEqual(after.ids, (before.ids + newIDs).sorted())
        let afterByID = Dictionary(uniqueKeysWithValues: zip(after.ids, after.vectors))
        for (id, vector) in zip(before.ids, before.vectors) { XCTAssertEqual(afterByID[id], vector, "book \(id)") }

        // Every reader's merged list is what scoring all 312 books with the same model gives.
        let expected = try fullRescore(store: store, generationID: 2, k: 20)
        XCTAssertEqual(expected.count, 1500)
        for (user, list) in expected {
            let stored = try store.recommendations(generationID: 2, userID: user, limit: 20)
            XCTAssertEqual(stored.map(\.bookID), list.map(\.bookID), "reader \(user)")
            XCTAssertEqual(stored.map { Float($0.score) }, list.map { sigmoid($0.logit) }, "reader \(user)")
        }

        let export = try cluster.run("bookrec-query", ["export"])
        let again = try cluster.run("bookrec-coordinator", ["add-books", csv])
        XCTAssertEqual(again.status, 0, again.error)
        XCTAssertTrue(again.output.contains("0 books added, 0 changed") && again.output.contains("no new books; generation 2 stays active"), again.output)
        XCTAssertEqual(try cluster.run("bookrec-query", ["export"]).output, export.output)
        XCTAssertEqual(try store.generations().count, 2)

        let jsonLines = try cluster.run("bookrec-coordinator", ["add-books", newBooks.appendingPathComponent("more-books.jsonl").path])
        XCTAssertEqual(jsonLines.status, 0, jsonLines.error)
        XCTAssertTrue(jsonLines.output.contains("generation 3 active: 4 new books"), jsonLines.output)
        XCTAssertEqual(try store.books(ids: [350]).first?.title, "Fear and Loathing in Las Vegas")
        XCTAssertFalse(try store.books(ids: [350]).first?.tags.isEmpty ?? true, "tags as a JSON array")
    }

    func testBadRowsAreNamedNewRatingsRescoreOnlyTheirReadersAndRollbackAndGCKeepWhatIsActive() throws {
        let firstExport = try cluster.run("bookrec-query", ["export"]).output
        XCTAssertEqual(try cluster.run("bookrec-coordinator", ["add-books", newBooks.appendingPathComponent("new-books.csv").path]).status, 0)

        let bad = try cluster.run("bookrec-coordinator", ["add-books", newBooks.appendingPathComponent("bad-new-books.csv").path])
        XCTAssertEqual(bad.status, 0, bad.error)
        for expected in [
            "bad-new-books.csv:3: book_id \"abc\" is not a positive integer", "bad-new-books.csv:4: empty title",
            "bad-new-books.csv:5: cover", "bad-new-books.csv:6: cover", "bad-new-books.csv:7: cover",
            "bad-new-books.csv:8: duplicate book_id 900001", "bad-new-books.csv:9: book_id 5 is already in the catalog",
            "bad-new-books.csv:10: original_publication_year \"soon\"", "bad-new-books.csv:11:", "bad-new-books.csv:12: expected 7 fields",
            "bad-new-books.csv: 2 accepted, 10 rejected",
        ] {
            XCTAssertTrue(bad.error.contains(expected), "missing \(expected) in:\n\(bad.error)")
        }
        XCTAssertTrue(bad.output.contains("generation 3 active: 2 new books"), bad.output)
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        XCTAssertEqual(try store.books(ids: [5]).first?.title, "The Great Gatsby", "a clashing row changes nothing stored")
        let beforeRatings = try cluster.run("bookrec-query", ["export"]).output

        let ratings = try cluster.run("bookrec-coordinator", ["add-ratings", newBooks.appendingPathComponent("ratings.csv").path])
        XCTAssertEqual(ratings.status, 0, ratings.error)
        for expected in ["ratings.csv:8: unknown book_id 0", "ratings.csv:10: rating \"6\"", "ratings.csv:15: duplicate rating", "ratings.csv: 7 accepted, 7 rejected"] {
            XCTAssertTrue(ratings.error.contains(expected), "missing \(expected) in:\n\(ratings.error)")
        }
        // 35 (two new ratings), 75, 230 and the new reader 999999.
        XCTAssertTrue(ratings.output.contains("generation 4 active: 4 readers with new ratings"), ratings.output)
        let changed: Set<Int> = [35, 75, 230, 999999]
        let afterRatings = try cluster.run("bookrec-query", ["export"]).output
        XCTAssertEqual(lines(of: afterRatings, except: changed), lines(of: beforeRatings, except: changed), "other readers' lists are carried over")
        let expected = try fullRescore(store: store, generationID: 4, k: 20, readers: Array(changed))
        for user in changed {
            let stored = try store.recommendations(generationID: 4, userID: user, limit: 20)
            XCTAssertEqual(stored.map(\.bookID), expected[user]!.map(\.bookID), "reader \(user)")
            let rated = Set(try store.ratings(userIDs: [user])[user]!.map(\.book))
            XCTAssertTrue(stored.allSatisfy { !rated.contains($0.bookID) }, "reader \(user) is not offered what they rated")
        }
        XCTAssertTrue(Set([2, 301]).isSubset(of: Set(try store.ratings(userIDs: [35])[35]!.map(\.book))))
        XCTAssertEqual(try store.recommendations(generationID: 4, userID: 999999, limit: 20).count, 20, "a new reader is folded in")
        let unchanged = try cluster.run("bookrec-coordinator", ["add-ratings", newBooks.appendingPathComponent("ratings.csv").path])
        XCTAssertTrue(unchanged.output.contains("no readers with new ratings; generation 4 stays active"), unchanged.output)

        let back = try cluster.run("bookrec-coordinator", ["rollback"])
        XCTAssertEqual(back.status, 0, back.error)
        XCTAssertTrue(back.output.contains("generation 3 active (was 4)"), back.output)
        XCTAssertEqual(try cluster.run("bookrec-query", ["export"]).output, beforeRatings)
        XCTAssertEqual(try cluster.run("bookrec-coordinator", ["rollback", "--to", "1"]).status, 0)
        XCTAssertEqual(try cluster.run("bookrec-query", ["export"]).output, firstExport)
        let missing = try cluster.run("bookrec-coordinator", ["rollback", "--to", "9"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.error.contains("generation 9 does not exist"), missing.error)

        XCTAssertEqual(try cluster.run("bookrec-coordinator", ["rollback", "--to", "4"]).status, 0)
        let gc = try cluster.run("bookrec-coordinator", ["gc", "--keep", "1"])
        XCTAssertEqual(gc.status, 0, gc.error)
        XCTAssertTrue(gc.output.contains("deleted generation(s) 1, 2, 3"), gc.output)
        XCTAssertEqual(try store.generations().map(\.id), [4])
        XCTAssertEqual(try cluster.run("bookrec-query", ["export"]).output, afterRatings, "the active generation is intact")
        XCTAssertTrue(try cluster.run("bookrec-coordinator", ["rollback"]).error.contains("nothing earlier to roll back to"))
    }

    /// Each reader's top-k over every book of a generation, scored in this process on one BLAS
    /// thread, as the workers score (a product split over threads rounds differently).
    private func fullRescore(store: Store, generationID: Int, k: Int, readers: [Int]? = nil) throws -> [Int: [ScoredRecommendation]] {
        setBLASThreads(1)
        let books = try store.bookVectors(generationID: generationID)
        let scorer = Scorer(side: ItemSide(vectors: books.vectors, bookTerms: books.terms), bookIDs: books.ids)
        let itemItem = try XCTUnwrap(store.itemItemWeights(generationID: generationID).map { ItemItemTerm(weights: $0, columns: books.ids) })
        let users = try readers ?? store.readerIDs(generationID: generationID)
        let vectors = try store.readerVectors(generationID: generationID, userIDs: users)
        let ratings = try store.ratings(userIDs: users)
        let position = Dictionary(uniqueKeysWithValues: books.ids.enumerated().map { ($1, Int32($0)) })
        let lists = scorer.topK(
            readers: Matrix(stacking: users.map { vectors[$0]!.vector }, columns: scorer.factors), readerBias: users.map { vectors[$0]!.bias },
            slots: users, excluded: users.map { (ratings[$0] ?? []).compactMap { position[$0.book] }.sorted() }, k: k,
            adding: { r, logits in itemItem.add(ratings: ratings[users[r]] ?? [], to: logits) })
        return Dictionary(uniqueKeysWithValues: zip(users, lists.map { $0.map { ScoredRecommendation(bookID: books.ids[$0.book], logit: $0.logit) } }))
    }

    private func lines(of export: String, except users: Set<Int>) -> [Substring] {
        export.split(separator: "\n").filter { line in !users.contains(Int(line.prefix { $0 != "," }) ?? -1) }
    }
}

import BookrecCore
import BookrecQueue
import BookrecService
import BookrecStore
import Foundation
import XCTest

/// `bookrec-coordinator serve` with `add-books --enqueue` through the real executables, a real
/// broker and a real store: 50 requests become a few generations equal to one foreground add-books
/// of all of them, a kill -9 of the service mid-generation loses and repeats nothing, a malformed
/// message is dead-lettered while the service goes on.
final class ReindexServiceTests: XCTestCase {
    let runArguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "40", "--score-shard-size", "250", "--top-k", "20"]

    func testFiftyEnqueuedFilesBecomeAFewGenerationsEqualToOneAddBooksAndAKillLosesNothing() throws {
        let cluster = try TestCluster()
        defer { cluster.tearDown() }
        try cluster.startWorker()
        XCTAssertEqual(try cluster.run("bookrec-coordinator", runArguments).status, 0)
        let files = try makeBookFiles(count: 50, in: cluster.directory)

        var service = try startService(cluster)
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        var requests: [Int] = []
        var killed = false
        for (index, file) in files.enumerated() {
            let enqueued = try cluster.run("bookrec-coordinator", ["add-books", file.path, "--enqueue"])
            XCTAssertEqual(enqueued.status, 0, enqueued.error)
            requests.append(try requestID(in: enqueued.output))
            if index == 9 {
                // Mid-generation: kill -9 the service while it builds one, then start it again.
                try waitFor("an add-books generation being built", timeout: 120) {
                    (try? store.unfinishedGeneration(kind: GenerationKind.addBooks.rawValue)) != nil
                }
                service.kill9()
                killed = true
                service = try startService(cluster)
            }
        }
        XCTAssertTrue(killed)
        XCTAssertEqual(Set(requests).count, 50, "one request per file")

        // A malformed message: dead-lettered with its reason, and the service goes on.
        let topology = Topology(prefix: cluster.prefix)
        let publisher = try Publisher(url: cluster.url, topology: topology, events: { _ in })
        try publisher.publish(OutgoingMessage(routingKey: topology.reindexQueue, body: Data("{\"request_id\":".utf8), messageID: "broken"))
        try publisher.waitForConfirms()
        publisher.close()
        let again = try cluster.run("bookrec-coordinator", ["add-books", files[0].path, "--enqueue"])
        XCTAssertEqual(try requestID(in: again.output), requests[0], "the same file is the same request")

        try waitFor("every request applied", timeout: 300) {
            (try? store.pendingReindexRequests())?.isEmpty ?? false
        }
        try waitFor("the malformed message dead-lettered", timeout: 60) {
            service.errorSoFar.contains("dead-lettered: reindex message: not a request")
        }
        let applied = try requests.map { try XCTUnwrap(store.reindexRequest($0)) }
        XCTAssertEqual(applied.filter { $0.state == .done }.count, 50, "\(applied.filter { $0.state != .done })")
        let generations = try store.generations().filter { $0.kind == GenerationKind.addBooks.rawValue && $0.state == .complete }
        XCTAssertLessThan(generations.count, 20, "requests that queued meanwhile are applied together")
        XCTAssertEqual(Set(applied.compactMap(\.generationID)).isSubset(of: Set(generations.map(\.id))), true)
        let status = try cluster.run("bookrec-query", ["status", "--json"])
        let report = try decodeAnswer(StatusReport.self, from: Data(status.output.utf8))
        XCTAssertTrue(report.reindex.allSatisfy { $0.state == "done" && $0.generation != nil }, status.output)
        let served = try cluster.export(k: 20)

        // The same books in one foreground add-books on a twin of the first run.
        let twin = try TestCluster()
        defer { twin.tearDown() }
        try twin.startWorker()
        XCTAssertEqual(try twin.run("bookrec-coordinator", runArguments).status, 0)
        let all = twin.directory.appendingPathComponent("all.csv")
        let rows = try files.map { try String(contentsOf: $0, encoding: .utf8).split(separator: "\n").dropFirst() }.joined()
        try ([header] + rows.map(String.init)).joined(separator: "\n").appending("\n").write(to: all, atomically: true, encoding: .utf8)
        let foreground = try twin.run("bookrec-coordinator", ["add-books", all.path])
        XCTAssertEqual(foreground.status, 0, foreground.error)
        XCTAssertTrue(try twin.export(k: 20) == served, "50 enqueued files give the export of one add-books of all of them")
        print("reindex service: 50 requests (\(rows.count) books) in \(generations.count) add-books generations, one kill -9 mid-generation; export equals one add-books")

        // SIGTERM while a generation is being built: the service finishes it, then exits 0.
        let last = cluster.directory.appendingPathComponent("last.csv")
        try "\(header)\n900500,The Last Book,Someone,2001,eng,fantasy,Fiction\n".write(to: last, atomically: true, encoding: .utf8)
        let lastRequest = try requestID(in: try cluster.run("bookrec-coordinator", ["add-books", last.path, "--enqueue"]).output)
        try waitFor("the last request's generation being built", timeout: 120) {
            (try? store.unfinishedGeneration(kind: GenerationKind.addBooks.rawValue)) != nil || (try? store.reindexRequest(lastRequest))??.state == .done
        }
        service.process.terminate()
        XCTAssertEqual(try service.finish(timeout: 120).status, 0, "SIGTERM: exit 0")
        XCTAssertEqual(try store.reindexRequest(lastRequest)?.state, .done, "the generation in hand was finished")
    }

    /// Books, then ratings of them in a later request: applied in that order, as the same two
    /// commands in the foreground would; each request's state over HTTP too.
    func testBooksThenTheirRatingsAreAppliedInOrder() throws {
        let newBooks = TestCluster.root.appendingPathComponent("Tests/Fixtures/new-books")
        let cluster = try TestCluster()
        defer { cluster.tearDown() }
        try cluster.startWorker()
        XCTAssertEqual(try cluster.run("bookrec-coordinator", runArguments).status, 0)
        let service = try startService(cluster)
        let unreadable = cluster.directory.appendingPathComponent("unreadable.csv")
        try "book_id,title,authors\nabc,No Id,Someone\n".write(to: unreadable, atomically: true, encoding: .utf8)
        let nothing = try cluster.run("bookrec-coordinator", ["add-books", unreadable.path, "--enqueue"])
        XCTAssertTrue(nothing.error.contains("unreadable.csv:2: book_id \"abc\" is not a positive integer"), nothing.error)
        XCTAssertTrue(nothing.output.contains("nothing enqueued"), nothing.output)
        let books = try requestID(in: try cluster.run("bookrec-coordinator", ["add-books", newBooks.appendingPathComponent("new-books.csv").path, "--enqueue"]).output)
        let ratingsRun = try cluster.run("bookrec-coordinator", ["add-ratings", newBooks.appendingPathComponent("ratings.csv").path, "--enqueue"])
        XCTAssertTrue(ratingsRun.error.contains("ratings.csv: 7 accepted, 7 rejected"), "bad rows are reported as in the foreground:\n\(ratingsRun.error)")
        let ratings = try requestID(in: ratingsRun.output)
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        try waitFor("both requests applied", timeout: 120) { (try? store.pendingReindexRequests())?.isEmpty ?? false }
        let (booksDone, ratingsDone) = (try XCTUnwrap(store.reindexRequest(books)), try XCTUnwrap(store.reindexRequest(ratings)))
        XCTAssertEqual([booksDone.state, ratingsDone.state], [.done, .done])
        XCTAssertEqual(try store.reindexRequests(limit: 10).count, 2, "the file with no accepted row made no request")
        XCTAssertLessThan(try XCTUnwrap(booksDone.generationID), try XCTUnwrap(ratingsDone.generationID), "the books first, then their ratings")
        XCTAssertFalse(try store.recommendations(generationID: ratingsDone.generationID!, userID: 35, limit: 20).contains { $0.bookID == 301 },
                       "reader 35 rated new book 301: it is no longer offered")

        let (server, base) = try ServedCluster.startServer(cluster)
        defer { server.process.terminate() }
        let answer = try decodeAnswer(ReindexStatus.self, from: try ServedCluster.request(base, "GET", "/v1/reindex/\(ratings)").body)
        XCTAssertEqual(answer.state, "done")
        XCTAssertEqual(answer.generation, ratingsDone.generationID)
        XCTAssertEqual(answer.accepted, 7)
        XCTAssertEqual(try ServedCluster.request(base, "GET", "/v1/reindex/9999").status, 404)

        let twin = try TestCluster()
        defer { twin.tearDown() }
        try twin.startWorker()
        XCTAssertEqual(try twin.run("bookrec-coordinator", runArguments).status, 0)
        XCTAssertEqual(try twin.run("bookrec-coordinator", ["add-books", newBooks.appendingPathComponent("new-books.csv").path]).status, 0)
        XCTAssertEqual(try twin.run("bookrec-coordinator", ["add-ratings", newBooks.appendingPathComponent("ratings.csv").path]).status, 0)
        XCTAssertTrue(try twin.export(k: 20) == cluster.export(k: 20), "the same as the two commands in the foreground")
        service.process.terminate()
        XCTAssertEqual(try service.finish(timeout: 60).status, 0)
    }

    let header = "book_id,title,authors,original_publication_year,language_code,tags,genres"

    /// `count` CSV files of 1 to 20 new books each, with seeded titles, authors and tags.
    private func makeBookFiles(count: Int, in directory: URL) throws -> [URL] {
        var generator = SeededGenerator(seed: 16)
        let words = ["dragon", "empire", "garden", "winter", "detective", "ocean", "memory", "river", "crown", "letters", "war", "island"]
        let tags = ["fantasy", "mystery", "romance", "history", "science-fiction", "classics", "young-adult", "thriller"]
        var next = 800_000
        return try (0..<count).map { index in
            let size = 1 + Int(generator.next() % 20)
            let rows = (0..<size).map { _ -> String in
                next += 1
                let title = (0..<3).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
                let tagList = (0..<4).map { _ in tags[Int(generator.next() % UInt64(tags.count))] }.joined(separator: "|")
                return "\(next),\(title.capitalized) \(next),Author \(generator.next() % 30),\(1950 + Int(generator.next() % 70)),eng,\(tagList),Fiction"
            }
            let file = directory.appendingPathComponent("books-\(index).csv")
            try ([header] + rows).joined(separator: "\n").appending("\n").write(to: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    private func startService(_ cluster: TestCluster) throws -> LaunchedProcess {
        let service = try cluster.launch("bookrec-coordinator", ["serve"])
        try waitFor("the service to consume", timeout: 60) { service.errorSoFar.contains("serving reindex requests") || !service.isRunning }
        XCTAssertTrue(service.isRunning, service.errorSoFar)
        return service
    }

    private func requestID(in output: String) throws -> Int {
        guard let range = output.range(of: #"reindex request \d+"#, options: .regularExpression),
              let id = Int(output[range].split(separator: " ").last!) else {
            throw ClusterTestFailure("no request id in: \(output)")
        }
        return id
    }
}

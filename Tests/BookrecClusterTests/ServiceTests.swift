import BookrecImaging
import BookrecService
import BookrecStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import Glibc
#endif
import XCTest

/// `bookrec-query serve` as users run it: a real server process over a store that a real
/// coordinator and worker built, spoken to over HTTP on loopback, by schemathesis and by a real
/// browser. One cluster and one server are shared by the tests of this class.
final class ServiceTests: XCTestCase {
    nonisolated(unsafe) static var shared: ServedCluster?
    var served: ServedCluster { Self.shared! }
    var cluster: TestCluster { served.cluster }

    override func setUpWithError() throws {
        if Self.shared == nil { Self.shared = try ServedCluster() }
    }

    override class func tearDown() {
        shared?.tearDown()
        shared = nil
    }

    func testTheAPIAnswersWhatTheCLIAnswers() throws {
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let user = try store.loadCatalog().ratings[0].user
        let active = try XCTUnwrap(store.activeGenerationID())

        let recommended = try served.get("/v1/readers/\(user)/recommendations?k=5")
        XCTAssertEqual(recommended.status, 200, recommended.text)
        XCTAssertEqual(recommended.contentType, "application/json")
        let list = try decodeAnswer(RecommendationList.self, from: recommended.body)
        let cli = try cluster.run("bookrec-query", ["recommend", "--user", "\(user)", "-k", "5", "--json"])
        XCTAssertEqual(cli.status, 0, cli.error)
        var withoutReasons = list
        for index in withoutReasons.recommendations.indices { withoutReasons.recommendations[index].closeTo = nil }
        XCTAssertEqual(withoutReasons, try decodeAnswer(RecommendationList.self, from: Data(cli.output.utf8)), "the service and the CLI give one answer")
        XCTAssertEqual(list.generation, active)

        // Each reason is the reader's highly rated book whose item vector is closest to the one recommended.
        let vectors = try store.bookVectors(generationID: active)
        let ratings = try store.ratings(userIDs: [user])[user]!
        let liked = ratings.filter { $0.rating >= 4 }.map(\.book)
        func cosine(_ a: Int, _ b: Int) -> Double {
            let u = vectors.vectors[vectors.ids.firstIndex(of: a)!], v = vectors.vectors[vectors.ids.firstIndex(of: b)!]
            let dot = zip(u, v).reduce(0) { $0 + Double($1.0 * $1.1) }
            return dot / (u.reduce(0) { $0 + Double($1 * $1) }.squareRoot() * v.reduce(0) { $0 + Double($1 * $1) }.squareRoot())
        }
        for entry in list.recommendations {
            let best = liked.map { ($0, cosine(entry.bookID, $0)) }.max { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 > $1.0 }!
            if best.1 >= 0.25 {
                XCTAssertEqual(entry.closeTo?.bookID, best.0, "book \(entry.bookID)")
                XCTAssertEqual(entry.closeTo?.similarity ?? 0, best.1, accuracy: 1e-4)
                XCTAssertEqual(entry.closeTo?.title, try store.books(ids: [best.0]).first?.title)
            } else {
                XCTAssertNil(entry.closeTo, "no reason is named when none is close")
            }
        }

        let similar = try served.get("/v1/books/1/similar?k=3")
        XCTAssertEqual(similar.status, 200, similar.text)
        let cliSimilar = try cluster.run("bookrec-query", ["similar", "--book", "1", "-k", "3", "--json"])
        XCTAssertEqual(try decodeAnswer(SimilarBooks.self, from: similar.body), try decodeAnswer(SimilarBooks.self, from: Data(cliSimilar.output.utf8)))

        let candidates = list.recommendations.map(\.bookID).reversed() + [1]
        let rank = try served.post("/v1/rank", json: "{\"user_id\": \(user), \"book_ids\": [\(candidates.map(String.init).joined(separator: ","))]}")
        XCTAssertEqual(rank.status, 200, rank.text)
        let cliRank = try cluster.run("bookrec-query", ["rank", "--user", "\(user)", "--books", candidates.map(String.init).joined(separator: ","), "--json"])
        let ranked = try decodeAnswer(RankedBooks.self, from: rank.body)
        XCTAssertEqual(ranked, try decodeAnswer(RankedBooks.self, from: Data(cliRank.output.utf8)))
        XCTAssertEqual(ranked.ranked.count, 6)
        for entry in list.recommendations {
            XCTAssertEqual(ranked.ranked.first { $0.bookID == entry.bookID }!.score, entry.score, accuracy: 1e-6, "rank agrees with the stored list")
        }

        let book = try decodeAnswer(BookDetails.self, from: try served.get("/v1/books/1").body)
        XCTAssertEqual(book.title, try store.books(ids: [1]).first?.title)
        XCTAssertEqual(book.cover, try store.coverHashes(bookIDs: [1])[1] == nil ? nil : "/covers/1")

        let status = try decodeAnswer(StatusReport.self, from: try served.get("/v1/status").body)
        XCTAssertEqual(status.activeGeneration, active)
        XCTAssertEqual(status.generations.map(\.id), try store.generations().map(\.id))
        XCTAssertNil(status.store, "the service does not show its file system")
        XCTAssertEqual(try served.get("/healthz").status, 200)
        XCTAssertEqual(try decodeAnswer(Readiness.self, from: try served.get("/readyz").body).generation, active)
    }

    func testBadRequestsGetProblemDetailsNeverAServerError() throws {
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let user = try store.loadCatalog().ratings[0].user
        let uncovered = try XCTUnwrap(try store.loadCatalog(includingRatings: false).books.map(\.id).first { try store.coverHashes(bookIDs: [$0]).isEmpty })
        let cases: [(method: String, path: String, body: String?, status: Int, detail: String)] = [
            ("GET", "/v1/readers/abc/recommendations", nil, 400, "id must be an integer (got \"abc\")"),
            ("GET", "/v1/readers/99999999999999999999999/recommendations", nil, 400, "id must be an integer"),
            ("GET", "/v1/readers/999999999/recommendations", nil, 404, "unknown reader 999999999"),
            ("GET", "/v1/readers/\(user)/recommendations?k=0", nil, 422, "k must be between 1 and 1000 (got 0)"),
            ("GET", "/v1/readers/\(user)/recommendations?k=ten", nil, 400, "k must be an integer (got \"ten\")"),
            ("GET", "/v1/books/123456", nil, 404, "unknown book 123456"),
            ("GET", "/v1/books/123456/similar", nil, 404, "unknown book 123456"),
            ("GET", "/v1/books/1/similar?k=1001", nil, 422, "k must be between 1 and 1000"),
            ("GET", "/covers/\(uncovered)", nil, 404, "book \(uncovered) has no cover"),
            ("GET", "/nowhere", nil, 404, "no such resource: /nowhere"),
            ("DELETE", "/v1/status", nil, 405, "DELETE is not allowed on /v1/status; allowed: GET, HEAD"),
            ("GET", "/v1/rank", nil, 405, "allowed: POST"),
            ("POST", "/v1/rank", "not json", 400, "not valid JSON"),
            ("POST", "/v1/rank", "{\"user_id\": \"x\", \"book_ids\": [1]}", 400, "user_id"),
            ("POST", "/v1/rank", "{\"user_id\": 1}", 400, "book_ids is missing"),
            ("POST", "/v1/rank", "{\"user_id\": \(user), \"book_ids\": []}", 422, "book_ids must list 1 to 1000 books (got 0)"),
            ("POST", "/v1/rank", "{\"user_id\": \(user), \"book_ids\": [\(Array(repeating: "1", count: 1001).joined(separator: ","))]}", 422, "(got 1001)"),
            ("POST", "/v1/rank", "{\"user_id\": \(user), \"book_ids\": [\(String(repeating: "1, ", count: 30_000))1]}", 413, "too large"),
            ("POST", "/v1/rank", "{\"user_id\": 999999999, \"book_ids\": [1]}", 404, "unknown reader 999999999"),
            ("POST", "/v1/rank", "{\"user_id\": \(user), \"book_ids\": [424242]}", 404, "unknown book 424242"),
        ]
        for (method, path, body, status, detail) in cases {
            let answer = try served.request(method, path, body: body.map { Data($0.utf8) })
            XCTAssertEqual(answer.status, status, "\(method) \(path): \(answer.text)")
            XCTAssertEqual(answer.contentType, "application/problem+json", "\(method) \(path)")
            let problem = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
            XCTAssertEqual(problem?["status"] as? Int, status, "\(method) \(path)")
            XCTAssertTrue((problem?["detail"] as? String ?? "").contains(detail), "\(method) \(path): \(answer.text)")
        }
        XCTAssertEqual(try served.get("/healthz").status, 200, "the server is still up")
    }

    func testCoversAreServedWithTheirTypeAndAnETagThatAnswers304() throws {
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let books = try store.loadCatalog(includingRatings: false).books.map(\.id)
        let (book, hash) = try XCTUnwrap(try store.coverHashes(bookIDs: books).min { $0.key < $1.key })
        let cover = try served.get("/covers/\(book)")
        XCTAssertEqual(cover.status, 200)
        XCTAssertEqual(cover.body, try store.coverBytes(bookID: book), "the stored bytes")
        XCTAssertTrue(["image/jpeg", "image/png"].contains(cover.contentType ?? ""), cover.contentType ?? "none")
        XCTAssertEqual(cover.headers["etag"], "\"\(hash)\"")
        XCTAssertEqual(cover.headers["cache-control"], "public, max-age=86400")
        let again = try served.request("GET", "/covers/\(book)", headers: ["If-None-Match": "\"\(hash)\""])
        XCTAssertEqual(again.status, 304)
        XCTAssertTrue(again.body.isEmpty)
        XCTAssertEqual(try served.request("GET", "/covers/\(book)", headers: ["If-None-Match": "\"other\""]).status, 200)
    }

    func testMetricsCountRequestsByRouteAndStatus() throws {
        func count(_ metric: String, _ route: String, _ status: Int) throws -> Double {
            let text = try served.get("/metrics").text
            let prefix = "\(metric){http_route=\"\(route)\",http_request_method=\"GET\",http_response_status_code=\"\(status)\"}"
            return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last!) } ?? 0
        }
        let before = (ok: try count("hb_requests", "/v1/books/{id}", 200), missing: try count("hb_requests", "/v1/books/{id}", 404),
                      timed: try count("http_server_request_duration_count", "/v1/books/{id}", 200))
        for _ in 0..<3 { XCTAssertEqual(try served.get("/v1/books/1").status, 200) }
        XCTAssertEqual(try served.get("/v1/books/777777").status, 404)
        // A request is counted once its answer is written, a moment after the client has it.
        try waitFor("the four requests counted", timeout: 30) {
            (try? count("http_server_request_duration_count", "/v1/books/{id}", 200)) == before.timed + 3
                && (try? count("hb_requests", "/v1/books/{id}", 404)) == before.missing + 1
        }
        XCTAssertEqual(try count("hb_requests", "/v1/books/{id}", 200), before.ok + 3)
        XCTAssertEqual(try count("hb_requests", "/v1/books/{id}", 404), before.missing + 1)
        XCTAssertEqual(try count("http_server_request_duration_count", "/v1/books/{id}", 200), before.timed + 3, "latency histogram")
        XCTAssertTrue(try served.get("/metrics").text.contains("# TYPE http_server_request_duration histogram"))
    }

    /// schemathesis (installed by scripts/test.sh under .run/tools) generates requests from
    /// /openapi.json, valid and invalid, and checks every answer against the document.
    func testSchemathesisFindsNoServerErrorAndEveryAnswerMatchesTheDocument() throws {
        let tools = TestCluster.root.appendingPathComponent(".run/tools")
        let result = try runTool(
            "/usr/bin/python3",
            // Its command through its module: pip leaves .run/tools/bin as the first package made it.
            ["-c", "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; sys.exit(schemathesis())",
             "run", served.base.appendingPathComponent("openapi.json").absoluteString,
             "--checks", "all", "--max-examples", "25", "--seed", "1", "--no-color"],
            environment: ["PYTHONPATH": tools.path])
        XCTAssertEqual(result.status, 0, "schemathesis found problems:\n\(result.output)\n\(result.error)")
        XCTAssertTrue(result.output.contains("passed"), result.output)
    }

    /// Debian's chromium, headless, through chromedriver (scripts/check-pages-in-browser.py).
    func testTheReaderPageInABrowserShowsTheCLIListWithItsCovers() throws {
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let active = try XCTUnwrap(store.activeGenerationID())
        // A reader whose top 10 has a book with a cover, so that a real cover is loaded.
        let readers = try store.readerIDs(generationID: active)
        let reader = try XCTUnwrap(try readers.first { user in
            !(try store.coverHashes(bookIDs: store.recommendations(generationID: active, userID: user, limit: 10).map(\.bookID)).isEmpty)
        })
        let book = try XCTUnwrap(try store.coverHashes(bookIDs: try store.recommendations(generationID: active, userID: reader, limit: 10).map(\.bookID)).keys.min())
        let screenshots = TestCluster.root.appendingPathComponent(".run/screenshots")
        let browser = try runTool(
            "/usr/bin/python3",
            [TestCluster.root.appendingPathComponent("scripts/check-pages-in-browser.py").path, "--base", served.base.absoluteString,
             "--reader", "\(reader)", "--book", "\(book)", "--unknown-reader", "999999999", "--screenshots", screenshots.path],
            environment: ["PYTHONPATH": TestCluster.root.appendingPathComponent(".run/tools").path])
        XCTAssertEqual(browser.status, 0, browser.error)
        let seen = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(browser.output.utf8)) as? [String: Any])
        let readerPage = try XCTUnwrap(seen["reader"] as? [String: Any])

        let cli = try cluster.run("bookrec-query", ["recommend", "--user", "\(reader)", "--json"])
        // As a browser renders text: runs of spaces (some titles have two) are one.
        func rendered(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let expected = try decodeAnswer(RecommendationList.self, from: Data(cli.output.utf8)).recommendations.map { rendered($0.title) }
        XCTAssertEqual(readerPage["titles"] as? [String], expected, "the page lists what `bookrec-query recommend` gives, in order")
        let images = try XCTUnwrap(readerPage["images"] as? [[String: Any]])
        XCTAssertEqual(images.count, expected.count)
        XCTAssertTrue(images.contains { $0["src"] as? String == "/covers/\(book)" }, "\(images)")
        for image in images {
            XCTAssertGreaterThan(image["natural_width"] as? Int ?? 0, 0, "loaded: \(image)")
            XCTAssertFalse((image["alt"] as? String ?? "").isEmpty, "alt text: \(image)")
        }
        XCTAssertEqual(readerPage["overflows"] as? Bool, false)

        let bookPage = try XCTUnwrap(seen["book"] as? [String: Any])
        XCTAssertEqual(bookPage["heading"] as? String, try store.books(ids: [book]).first.map { rendered($0.title) })
        let similar = try decodeAnswer(SimilarBooks.self, from: Data(try cluster.run("bookrec-query", ["similar", "--book", "\(book)", "--json"]).output.utf8))
        XCTAssertEqual(bookPage["titles"] as? [String], similar.similar.map { rendered($0.title) })
        XCTAssertEqual((bookPage["images"] as? [[String: Any]])?.first?["natural_width"] as? Int, try coverWidth(store, book), "the book's own cover, at its size")

        let unknown = try XCTUnwrap(seen["unknown_reader"] as? [String: Any])
        XCTAssertEqual(unknown["heading"] as? String, "Not found")
        XCTAssertEqual(try served.get("/readers/999999999").status, 404)
        XCTAssertTrue(try served.get("/readers/999999999").text.contains("Unknown reader 999999999"))

        XCTAssertEqual(seen["first_tab_stop"] as? String, "A /", "the keyboard reaches the first link")
        XCTAssertEqual(seen["looked_up"] as? String, served.base.appendingPathComponent("readers/\(reader)").absoluteString, "the look-up box, by keyboard")
        XCTAssertEqual((seen["reader_on_phone"] as? [String: Any])?["overflows"] as? Bool, false, "no sideways scrolling at 390 px")
        for name in ["reader.png", "book.png", "reader-phone.png"] {
            let data = try Data(contentsOf: screenshots.appendingPathComponent(name))
            XCTAssertTrue(data.starts(with: [0x89, 0x50, 0x4E, 0x47]) && data.count > 10_000, "\(name) is a screenshot")
        }
    }

    /// The server follows activation and rollback without a restart.
    func testTheServiceFollowsAddBooksAndRollbackWithoutARestart() throws {
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let before = try XCTUnwrap(store.activeGenerationID())
        let newBooks = TestCluster.root.appendingPathComponent("Tests/Fixtures/new-books/new-books.csv")
        let newBook = try XCTUnwrap(Int(try String(contentsOf: newBooks, encoding: .utf8).split(separator: "\n")[1].prefix { $0 != "," }))
        XCTAssertTrue(try store.books(ids: [newBook]).isEmpty, "book \(newBook) is new")
        try cluster.startWorker()
        defer { cluster.stopWorkers() }
        let added = try cluster.run("bookrec-coordinator", ["add-books", newBooks.path])
        XCTAssertEqual(added.status, 0, added.error)
        let after = try XCTUnwrap(store.activeGenerationID())
        XCTAssertGreaterThan(after, before)

        try waitForServedGeneration(after)
        let similar = try served.get("/v1/books/\(newBook)/similar?k=3")
        XCTAssertEqual(similar.status, 200, similar.text)
        XCTAssertEqual(try decodeAnswer(SimilarBooks.self, from: similar.body).generation, after)
        let user = try store.loadCatalog().ratings[0].user
        let cli = try cluster.run("bookrec-query", ["recommend", "--user", "\(user)", "--json"])
        var list = try decodeAnswer(RecommendationList.self, from: try served.get("/v1/readers/\(user)/recommendations").body)
        for index in list.recommendations.indices { list.recommendations[index].closeTo = nil }
        XCTAssertEqual(list, try decodeAnswer(RecommendationList.self, from: Data(cli.output.utf8)))

        XCTAssertEqual(try cluster.run("bookrec-coordinator", ["rollback", "--to", "\(before)"]).status, 0)
        try waitForServedGeneration(before)
        let gone = try served.get("/v1/books/\(newBook)/similar")
        XCTAssertEqual(gone.status, 404, "generation \(before) has no vector for the new book: \(gone.text)")
    }

    /// Waits until the service answers from this generation: it loads a newly activated one in
    /// the background and answers from the previous one meanwhile.
    private func waitForServedGeneration(_ generation: Int) throws {
        try waitFor("the service to answer from generation \(generation)", timeout: 60) {
            (try? decodeAnswer(Readiness.self, from: served.get("/readyz").body).generation) == generation
        }
    }

    /// SIGTERM: the server stops accepting, finishes the request it is in the middle of (its body
    /// only half sent when the signal comes), answers it in full, and exits 0.
    func testSIGTERMFinishesTheRequestInFlightAndStopsTheServerCleanly() throws {
        let second = try ServedCluster.startServer(cluster)
        let catalog = try SQLiteStore(path: cluster.storeLocation, readOnly: true).loadCatalog()
        let books = catalog.books.prefix(4).map { String($0.id) }.joined(separator: ",")
        let body = Data(#"{"user_id":\#(catalog.ratings[0].user),"book_ids":[\#(books)]}"#.utf8)
        let expected = try served.post("/v1/rank", json: String(decoding: body, as: UTF8.self))
        XCTAssertEqual(expected.status, 200, expected.text)

        let inFlight = try RawHTTPConnection(to: second.base)
        try inFlight.send(Data("POST /v1/rank HTTP/1.1\r\nHost: bookrec\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body.prefix(10))
        try waitFor("the server to hold the POST in flight", timeout: 30) {
            let metrics = (try? ServedCluster.request(second.base, "GET", "/metrics").text) ?? ""
            return metrics.contains(#"http_server_active_requests{http_request_method="POST"} 1.0"#)
        }
        second.process.process.terminate()
        try waitFor("the server to stop accepting connections", timeout: 30) { (try? RawHTTPConnection(to: second.base)) == nil }
        try inFlight.send(body.dropFirst(10))
        let answer = try inFlight.receiveAnswer()
        XCTAssertTrue(answer.starts(with: Data("HTTP/1.1 200".utf8)), String(decoding: answer, as: UTF8.self))
        XCTAssertEqual(answer.suffix(expected.body.count), expected.body, "the same ranking as the running server's")

        let end = try second.process.finish(timeout: 30)
        XCTAssertEqual(end.status, 0, end.error)
        XCTAssertThrowsError(try ServedCluster.request(second.base, "GET", "/healthz"), "nothing listens any more")
    }

    private func coverWidth(_ store: Store, _ book: Int) throws -> Int? {
        guard let bytes = try store.coverBytes(bookID: book) else { return nil }
        return try ImageDecoder().decode(bytes).width
    }
}

/// A store built by a real run, and `bookrec-query serve` on it.
final class ServedCluster {
    let cluster: TestCluster
    let server: LaunchedProcess
    let base: URL

    init() throws {
        cluster = try TestCluster()
        try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", [
            "run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "40", "--score-shard-size", "250", "--top-k", "20",
        ])
        guard run.status == 0 else { throw ClusterTestFailure("the run failed:\n\(run.error)\n\(cluster.workerLogs())") }
        cluster.stopWorkers()
        (server, base) = try Self.startServer(cluster)
    }

    /// Starts `bookrec-query serve --port 0` and waits for the line with the port it bound.
    static func startServer(_ cluster: TestCluster) throws -> (process: LaunchedProcess, base: URL) {
        let server = try cluster.launch("bookrec-query", ["serve", "--port", "0"])
        var base: URL?
        try waitFor("the server's address", timeout: 60) {
            let output = (try? String(contentsOf: server.output, encoding: .utf8)) ?? ""
            if let range = output.range(of: #"http://127\.0\.0\.1:\d+/"#, options: .regularExpression) { base = URL(string: String(output[range])) }
            return base != nil || !server.isRunning
        }
        guard let base else { throw ClusterTestFailure("the server stopped: \(server.errorSoFar)") }
        return (server, base)
    }

    func get(_ path: String) throws -> HTTPAnswer { try request("GET", path) }

    func post(_ path: String, json: String) throws -> HTTPAnswer {
        try request("POST", path, body: Data(json.utf8), headers: ["Content-Type": "application/json"])
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws -> HTTPAnswer {
        try Self.request(base, method, path, body: body, headers: headers)
    }

    /// One request on a session without a cache, so that every answer is the server's own.
    static func request(_ base: URL, _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws -> HTTPAnswer {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<HTTPAnswer, any Error> = .failure(ClusterTestFailure("no answer"))
        session.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(error)
            } else if let response = response as? HTTPURLResponse {
                var fields: [String: String] = [:]
                for (name, value) in response.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
                result = .success(HTTPAnswer(status: response.statusCode, headers: fields, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }

    func tearDown() {
        if server.isRunning { server.process.terminate() }
        _ = try? server.finish(timeout: 30)
        cluster.tearDown()
    }
}

struct HTTPAnswer {
    let status: Int
    let headers: [String: String]
    let body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var contentType: String? { headers["content-type"] }
}

/// What GET /readyz answers.
struct Readiness: Decodable {
    let status: String
    let generation: Int
}

/// Runs a program to the end, with its output collected in files.
func runTool(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String, error: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-tool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let output = directory.appendingPathComponent("out"), error = directory.appendingPathComponent("err")
    FileManager.default.createFile(atPath: output.path, contents: nil)
    FileManager.default.createFile(atPath: error.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = try FileHandle(forWritingTo: output)
    process.standardError = try FileHandle(forWritingTo: error)
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8), try String(contentsOf: error, encoding: .utf8))
}

/// A bare TCP connection, for a request sent in parts: URLSession sends a request whole.
final class RawHTTPConnection {
    private let descriptor: Int32

    init(to base: URL) throws {
        guard let port = base.port else { throw ClusterTestFailure("\(base) has no port") }
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ClusterTestFailure("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw ClusterTestFailure("connect to \(base): errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    func send(_ bytes: Data) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw ClusterTestFailure("send: \(sent) of \(bytes.count) bytes, errno \(errno)") }
    }

    /// Reads until the head and as many body bytes as its Content-Length say have arrived.
    func receiveAnswer() throws -> Data {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let headEnd = received.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<headEnd.lowerBound], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                   let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                   received.count - headEnd.upperBound >= length {
                    return received
                }
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { throw ClusterTestFailure("the connection ended after \(received.count) bytes (errno \(errno))") }
            received.append(contentsOf: buffer[..<count])
        }
    }
}

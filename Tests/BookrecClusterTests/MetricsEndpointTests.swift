import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// `--metrics-port` on a real worker and a real coordinator: their Prometheus endpoints answer
/// while they run, and the counters follow the jobs the run made.
final class MetricsEndpointTests: XCTestCase {
    func testWorkerAndCoordinatorCountersFollowTheJobs() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        // The coordinator first, with no worker: it plans and publishes the encode shards and waits.
        let coordinator = try cluster.launch("bookrec-coordinator", KilledWorkerTests.runArguments + ["--metrics-port", "0"])
        let coordinatorMetrics = try endpoint(in: { coordinator.errorSoFar }, of: "coordinator")
        var planned = 0.0
        try waitFor("the coordinator's planned encode shards", timeout: 60) {
            planned = value(in: (try? scrape(coordinatorMetrics)) ?? "", "bookrec_coordinator_shards{phase=\"encode\",state=\"planned\"}") ?? 0
            return planned > 0
        }
        let early = try scrape(coordinatorMetrics)
        XCTAssertEqual(value(in: early, "bookrec_coordinator_shards{phase=\"encode\",state=\"done\"}"), 0, "no worker has run a job yet")
        XCTAssertEqual(value(in: early, "bookrec_coordinator_generation"), 1)

        let worker = try cluster.startWorker(arguments: ["--metrics-port", "0"])
        let workerMetrics = try endpoint(in: { cluster.workerLogs() }, of: "worker")
        // Everything the coordinator showed while it ran (a phase's duration appears once it ends).
        var coordinatorTexts = [early]
        while coordinator.isRunning {
            if let text = try scrapeOrNil(coordinatorMetrics) { coordinatorTexts.append(text) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let run = try coordinator.finish(timeout: 300)
        XCTAssertEqual(run.status, 0, run.error)

        // One poison message: dead-lettered, and counted as such.
        let publisher = try Publisher(url: cluster.url, topology: Topology(prefix: cluster.prefix), events: { _ in })
        try publisher.publish(OutgoingMessage(routingKey: Topology(prefix: cluster.prefix).scoreQueue, body: Data("{".utf8), messageID: "poison"))
        try publisher.waitForConfirms()
        publisher.close()
        let text = try scrapeWhen(workerMetrics) { value(in: $0, #"bookrec_worker_jobs_total{kind="score",outcome="dead_lettered"}"#) == 1 }

        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        for kind in JobKind.allCases {
            let shards = Double(try store.shards(generationID: 1, kind: kind).count)
            XCTAssertEqual(value(in: text, "bookrec_worker_jobs_total{kind=\"\(kind.rawValue)\",outcome=\"done\"}") ?? 0, shards, "\(kind) jobs done")
            // Every job is timed, the poison one among the score jobs.
            XCTAssertEqual(value(in: text, "bookrec_worker_job_duration_seconds_count{kind=\"\(kind.rawValue)\"}") ?? 0, shards + (kind == .score ? 1 : 0), "\(kind) durations")
        }
        XCTAssertEqual(value(in: text, "bookrec_worker_books_encoded_total"), Double(try store.loadCatalog(includingRatings: false).books.count))
        XCTAssertGreaterThan(value(in: text, "bookrec_store_write_duration_seconds_count") ?? 0, 0, "store writes are timed")
        XCTAssertTrue(worker.isRunning)
        XCTAssertEqual(try scrapeOrNil(coordinatorMetrics), nil, "the coordinator's endpoint lives as long as its command")
        XCTAssertTrue(coordinatorTexts.contains { $0.contains("bookrec_coordinator_phase_duration_seconds{phase=\"encode\"}") })

        // The Grafana dashboard asks only for metrics that bookrec emits: those seen here and the
        // service's own (a server on this store, asked once).
        let (server, base) = try ServedCluster.startServer(cluster)
        defer { server.process.terminate() }
        XCTAssertEqual(try ServedCluster.request(base, "GET", "/v1/books/1").status, 200)
        // A request's duration is recorded once its answer is written, a moment after the client has it.
        let serviceText = try scrapeWhen(URL(string: "metrics", relativeTo: base)!) { $0.contains("http_server_request_duration_bucket") }
        let emitted = ([text, serviceText] + coordinatorTexts).joined(separator: "\n")
        let dashboard = try JSONSerialization.jsonObject(
            with: Data(contentsOf: TestCluster.root.appendingPathComponent("deploy/grafana/bookrec-dashboard.json"))) as! [String: Any]
        let expressions = (dashboard["panels"] as! [[String: Any]]).flatMap { ($0["targets"] as! [[String: Any]]).map { $0["expr"] as! String } }
        XCTAssertGreaterThanOrEqual(expressions.count, 9)
        for expression in expressions {
            for match in expression.matches(of: #/(bookrec_[a-z_]+|hb_requests|http_server_request_duration_bucket)/#) {
                XCTAssertTrue(emitted.contains(String(match.output.0)), "the dashboard's \(match.output.0) is emitted")
            }
        }
    }

    /// The metrics URL a process printed when it started listening.
    private func endpoint(in log: () -> String, of name: String) throws -> URL {
        var url: URL?
        try waitFor("the \(name)'s metrics address", timeout: 60) {
            let text = log()
            if let range = text.range(of: #"metrics at http://127\.0\.0\.1:\d+/metrics"#, options: .regularExpression) {
                url = URL(string: String(text[range].dropFirst("metrics at ".count)))
            }
            return url != nil
        }
        return url!
    }

    private func scrape(_ url: URL) throws -> String {
        let answer = try ServedCluster.request(url, "GET", url.path)
        XCTAssertEqual(answer.status, 200)
        XCTAssertTrue(answer.contentType?.hasPrefix("text/plain") ?? false)
        return answer.text
    }

    private func scrapeOrNil(_ url: URL) throws -> String? {
        try? ServedCluster.request(url, "GET", url.path).text
    }

    private func scrapeWhen(_ url: URL, _ condition: (String) -> Bool) throws -> String {
        var text = ""
        try waitFor("the metrics to show what was asked for", timeout: 60) {
            text = (try? scrape(url)) ?? ""
            return condition(text)
        }
        return text
    }

    /// The value of one sample line (`name{labels} value`).
    private func value(in text: String, _ sample: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }
}

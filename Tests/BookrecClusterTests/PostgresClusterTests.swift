import BookrecService
import BookrecStore
import Foundation
import XCTest

/// The whole pipeline on a PostgreSQL store: real executables, a real broker, a real PostgreSQL
/// server; every export compared byte for byte with the same steps on an SQLite store.
final class PostgresClusterTests: XCTestCase {
    let newBooks = TestCluster.root.appendingPathComponent("Tests/Fixtures/new-books")
    let runArguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "40", "--score-shard-size", "250", "--top-k", "20"]

    /// run, add-books, add-ratings: the exports after each step, and the coordinator's output.
    private func steps(on cluster: TestCluster) throws -> [String] {
        var exports: [String] = []
        for arguments in [
            runArguments, ["add-books", newBooks.appendingPathComponent("new-books.csv").path],
            ["add-ratings", newBooks.appendingPathComponent("ratings.csv").path],
        ] {
            let step = try cluster.run("bookrec-coordinator", arguments)
            XCTAssertEqual(step.status, 0, "\(arguments[0]) on \(cluster.storeLocation) failed:\n\(step.error)\nworkers:\n\(cluster.workerLogs())")
            exports.append(try cluster.export(k: 20))
        }
        return exports
    }

    func testRunAddBooksAndAddRatingsGiveTheSameExportsOnPostgreSQLAsOnSQLite() throws {
        let sqlite = try TestCluster()
        defer { sqlite.tearDown() }
        try sqlite.startWorker()
        let expected = try steps(on: sqlite)

        let postgres = try TestCluster(postgres: try PostgresServer.shared())
        defer { postgres.tearDown() }
        try postgres.startWorker()
        try postgres.startWorker()
        let exports = try steps(on: postgres)
        XCTAssertEqual(exports.count, 3)
        for (step, (got, want)) in zip(["run", "add-books", "add-ratings"], zip(exports, expected)) {
            XCTAssertTrue(got == want, "the export after \(step) differs between PostgreSQL (2 workers) and SQLite (1 worker)")
        }
        XCTAssertEqual(exports[0].split(separator: "\n").count, 1 + 1500 * 20)

        // Queries, status, rollback and gc read and change the PostgreSQL store as they do SQLite's.
        let status = try postgres.run("bookrec-query", ["status", "--json"])
        XCTAssertEqual(status.status, 0, status.error)
        let report = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        XCTAssertEqual(report?["active_generation"] as? Int, 3, status.output)
        let recommend = try postgres.run("bookrec-query", ["recommend", "--user", "35", "-k", "5"])
        XCTAssertEqual(recommend.output, try sqlite.run("bookrec-query", ["recommend", "--user", "35", "-k", "5"]).output)
        let slice = TestCluster.root.appendingPathComponent("Tests/Fixtures/goodbooks-slice").path
        let measured = try postgres.run("bookrec-coordinator", ["evaluate-generation", "--data", slice])
        XCTAssertEqual(measured.status, 0, measured.error)
        XCTAssertTrue(measured.output.hasPrefix("generation 3, cold protocol over"), measured.output)
        XCTAssertEqual(measured.output, try sqlite.run("bookrec-coordinator", ["evaluate-generation", "--data", slice]).output)
        let similar = try postgres.run("bookrec-query", ["similar", "--book", "2", "-k", "5"])
        XCTAssertEqual(similar.output, try sqlite.run("bookrec-query", ["similar", "--book", "2", "-k", "5"]).output)
        // The HTTP service serves the PostgreSQL store's lists, the ones the CLI reads.
        let (server, base) = try ServedCluster.startServer(postgres)
        defer {
            server.process.terminate()
            _ = try? server.finish(timeout: 30)
        }
        let served = try ServedCluster.request(base, "GET", "/v1/readers/35/recommendations?k=5")
        XCTAssertEqual(served.status, 200, served.text)
        var list = try decodeAnswer(RecommendationList.self, from: served.body)
        for index in list.recommendations.indices { list.recommendations[index].closeTo = nil }
        let cli = try postgres.run("bookrec-query", ["recommend", "--user", "35", "-k", "5", "--json"])
        XCTAssertEqual(list, try decodeAnswer(RecommendationList.self, from: Data(cli.output.utf8)))
        XCTAssertEqual(list.generation, 3)

        XCTAssertEqual(try postgres.run("bookrec-coordinator", ["rollback"]).output, "generation 2 active (was 3)\n")
        XCTAssertTrue(try postgres.export(k: 20) == expected[1], "rolled back, the export is add-books' again")
        let gc = try postgres.run("bookrec-coordinator", ["gc", "--keep", "0"])
        XCTAssertEqual(gc.status, 0, gc.error)
        XCTAssertTrue(gc.output.hasPrefix("deleted generation(s) 1, 3 with"), gc.output)
        XCTAssertEqual(try postgres.openStore(readOnly: true).generations().map(\.id), [2])
    }

    func testARestartedDatabaseUnderAJobInHandAndAKilledWorkerLoseNothingAndDuplicateNothing() throws {
        let sqlite = try TestCluster()
        defer { sqlite.tearDown() }
        try sqlite.startWorker()
        XCTAssertEqual(try sqlite.run("bookrec-coordinator", runArguments).status, 0)
        let expected = try sqlite.export(k: 20)

        let server = PrivatePostgres(port: 5801)
        try server.start()
        defer { try? server.stop() }
        let cluster = try TestCluster(postgres: server.server)
        defer { cluster.tearDown() }
        // The first worker freezes itself with its first score shard computed, not yet written;
        // the database server restarts under it and under the waiting coordinator.
        let frozen = try cluster.startWorker(environment: ["BOOKREC_FAULT_AFTER": "score.before-commit:1:stop"])
        try cluster.waitForConsumers(1)
        let started = Date()
        let run = try cluster.launch("bookrec-coordinator", runArguments)
        try waitFor("the worker to stop itself before a commit", timeout: 120) { processState(of: frozen.processIdentifier) == "T" }
        let down = Date()
        try server.restart()
        let up = Date()
        // A second worker dies by kill -9 after committing its second shard, before the ack: that
        // job is delivered again and must not be stored twice.
        let killed = try cluster.startWorker(environment: ["BOOKREC_FAULT_AFTER": "score.after-commit:2"])
        kill(frozen.processIdentifier, SIGCONT)
        try waitFor("the second worker's kill -9", timeout: 120) { !killed.isRunning }
        XCTAssertEqual(killed.terminationReason, .uncaughtSignal)
        XCTAssertTrue(run.isRunning, "the faults came before the run ended")
        try cluster.startWorker()
        let finished = try run.finish(timeout: 600)
        XCTAssertEqual(finished.status, 0, "coordinator failed:\n\(finished.error)\nworkers:\n\(cluster.workerLogs())")
        let activated = Date()
        XCTAssertTrue(frozen.isRunning, "the worker whose connection died under it carried on")
        let logs = cluster.workerLogs()
        let redeliveries = logs.components(separatedBy: "shard already done, acknowledging the redelivery").count - 1
        let failedAttempts = logs.components(separatedBy: " failed: ").count - 1
        print(String(
            format: "postgres restart under a frozen score job and kill -9 after a commit: restart %.1f s, run %.1f s, %.1f s from the restart to activation, %d committed redeliveries acknowledged, %d failed job attempts",
            up.timeIntervalSince(down), activated.timeIntervalSince(started), activated.timeIntervalSince(up), redeliveries, failedAttempts))
        XCTAssertTrue(try cluster.export(k: 20) == expected, "the export after the faults differs from SQLite's without them")
        let store = try cluster.openStore(readOnly: true)
        XCTAssertTrue(try store.shards(generationID: 1).allSatisfy { $0.state == .done })
        XCTAssertEqual(try store.deadLetters(limit: 10), [], "nothing was dead-lettered")
    }

    func testASecondCoordinatorOnTheSameDatabaseRefusesUntilTheFirstIsGone() throws {
        let cluster = try TestCluster(postgres: try PostgresServer.shared())
        defer { cluster.tearDown() }
        // A coordinator with no worker waits in its encode phase, holding the lock.
        let first = try cluster.launch("bookrec-coordinator", runArguments)
        try waitFor("the first coordinator's plan", timeout: 60) { (try? cluster.openStore(readOnly: true).shards(generationID: 1, kind: .encode).isEmpty) == false }
        let second = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(
            second.error.contains("another coordinator is running against \(cluster.storeLocation) (bookrec-coordinator pid \(first.process.processIdentifier) on "),
            second.error)
        XCTAssertEqual(try cluster.run("bookrec-coordinator", ["rollback"]).status, 1, "rollback takes the lock too")
        // Killed, its connection ends and the lock with it: the next coordinator resumes its generation.
        first.kill9()
        try cluster.startWorker()
        let resumed = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.error.contains("resuming generation 1"), resumed.error)
    }
}

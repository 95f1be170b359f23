import BookrecStore
import Foundation
import XCTest

/// Hosts built out of network namespaces on this machine, one veth pair each on a private bridge:
/// they reach each other only over that network, and share no files but the built executables
/// (each has a working folder of its own, with its own copy of what it reads).
final class TestNetwork {
    struct Host {
        let name: String
        let namespace: String
        let address: String
        /// The bridge end of its link, in the root namespace: down is a cut cable.
        let link: String
        let folder: URL
    }

    let bridge: String
    let folder: URL
    private(set) var hosts: [String: Host] = [:]

    /// Builds the network, or throws XCTSkip where namespaces cannot be made (not root, no CAP_NET_ADMIN).
    init(hosts names: [String]) throws {
        let tag = String(UUID().uuidString.prefix(4)).lowercased()
        bridge = "bkbr\(tag)"
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-hosts-\(tag)")
        guard getuid() == 0, (try? Self.ip(["netns", "add", "bk-\(tag)-probe"])) != nil else {
            throw XCTSkip("network namespaces cannot be made here (needs root with CAP_NET_ADMIN): the multi-host test is skipped")
        }
        try Self.ip(["netns", "del", "bk-\(tag)-probe"])
        let subnet = "10.231.\(Int.random(in: 1...254))"
        try Self.ip(["link", "add", bridge, "type", "bridge"])
        try Self.ip(["link", "set", bridge, "up"])
        for (index, name) in names.enumerated() {
            let host = Host(
                name: name, namespace: "bk-\(tag)-\(name)", address: "\(subnet).\(index + 2)", link: "bk\(tag)h\(index)",
                folder: folder.appendingPathComponent(name))
            try FileManager.default.createDirectory(at: host.folder, withIntermediateDirectories: true)
            try Self.ip(["netns", "add", host.namespace])
            try Self.ip(["link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
            try Self.ip(["link", "set", host.link, "master", bridge, "up"])
            try Self.ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
            try Self.ip(["-n", host.namespace, "link", "set", "eth0", "up"])
            try Self.ip(["-n", host.namespace, "link", "set", "lo", "up"])
            hosts[name] = host
        }
    }

    subscript(name: String) -> Host { hosts[name]! }

    func cut(_ host: Host) throws { try Self.ip(["link", "set", host.link, "down"]) }
    func mend(_ host: Host) throws { try Self.ip(["link", "set", host.link, "up"]) }

    /// Starts an executable of this build on a host, in its folder, its output in files there.
    func launch(on host: Host, _ executable: String, _ arguments: [String], environment: [String: String]) throws -> LaunchedProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", host.namespace, TestCluster.binaries.appendingPathComponent(executable).path] + arguments
        process.environment = environment
        process.currentDirectoryURL = host.folder
        return try LaunchedProcess.start(process, name: "\(executable) \(arguments.joined(separator: " ")) on \(host.name)", logsIn: host.folder)
    }

    func tearDown() {
        for host in hosts.values {
            // Whatever still runs in the namespace goes with it.
            if let pids = try? Self.ip(["netns", "pids", host.namespace]) {
                for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? Self.ip(["netns", "del", host.namespace])
        }
        _ = try? Self.ip(["link", "del", bridge])
        try? FileManager.default.removeItem(at: folder)
    }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let result = try runTool("/usr/sbin/ip", arguments, environment: [:])
        guard result.status == 0 else { throw ClusterTestFailure("ip \(arguments.joined(separator: " ")) failed: \(result.error)") }
        return result.output
    }
}

/// bookrec across five hosts: RabbitMQ on one, PostgreSQL on one, a worker on each of two, the
/// coordinator and the queries on the fifth. A full run with a cut link, a killed worker and a
/// database restart, then add-books and add-ratings, export the same bytes as the same steps on
/// one host with SQLite.
final class MultiHostTests: XCTestCase {
    let runArguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "40", "--score-shard-size", "250", "--top-k", "20"]
    let fixtures = TestCluster.root.appendingPathComponent("Tests/Fixtures")

    func testFiveHostsWithACutLinkAKilledWorkerAndADatabaseRestartExportWhatOneHostDoes() throws {
        let network = try TestNetwork(hosts: ["mq", "db", "worker1", "worker2", "coordinator"])
        defer { network.tearDown() }
        let mq = network["mq"], db = network["db"], coordinator = network["coordinator"]
        let worker1 = network["worker1"], worker2 = network["worker2"]

        // The one-host reference: the same steps on SQLite with the shared broker.
        let newBooks = fixtures.appendingPathComponent("new-books")
        let oneHost = try TestCluster()
        defer { oneHost.tearDown() }
        try oneHost.startWorker()
        var expected: [String] = []
        for arguments in [runArguments, ["add-books", newBooks.appendingPathComponent("new-books.csv").path], ["add-ratings", newBooks.appendingPathComponent("ratings.csv").path]] {
            XCTAssertEqual(try oneHost.run("bookrec-coordinator", arguments).status, 0)
            expected.append(try oneHost.export(k: 20))
        }

        // The servers, each on its host's address.
        let brokerPort = 5674, databasePort = 5834
        try runServerScript("broker.sh", "start", environment: "BOOKREC_BROKER_PORT=\(brokerPort) BOOKREC_BROKER_LISTEN=\(mq.address)", namespace: mq.namespace)
        defer { try? runServerScript("broker.sh", "stop", environment: "BOOKREC_BROKER_PORT=\(brokerPort)", namespace: mq.namespace) }
        try runServerScript("postgres.sh", "start", environment: "BOOKREC_POSTGRES_PORT=\(databasePort) BOOKREC_POSTGRES_LISTEN=\(db.address)", namespace: db.namespace)
        defer { try? runServerScript("postgres.sh", "stop", environment: "BOOKREC_POSTGRES_PORT=\(databasePort)", namespace: db.namespace) }
        let server = PostgresServer(
            host: db.address, port: databasePort, passwordFile: TestCluster.root.appendingPathComponent(".run/postgres-\(databasePort)/password").path,
            namespace: coordinator.namespace)
        let database = try server.createDatabase()

        // Each host's own copy of what it reads: the password, and on the coordinator the data.
        var environments: [String: [String: String]] = [:]
        for host in [worker1, worker2, coordinator] {
            let password = host.folder.appendingPathComponent("store-password")
            try FileManager.default.copyItem(atPath: server.passwordFile, toPath: password.path)
            // The same settings as the one-host run (OPENBLAS_CORETYPE among them), but the host's own
            // home, store password and the servers on the other hosts.
            environments[host.name] = ProcessInfo.processInfo.environment.merging([
                "HOME": host.folder.path, "BOOKREC_STORE": database.url, "BOOKREC_STORE_PASSWORD_FILE": password.path,
                "BOOKREC_AMQP_URL": "amqp://guest:guest@\(mq.address):\(brokerPort)/", "BOOKREC_QUEUE_PREFIX": "multihost.",
            ]) { $1 }
        }
        for folder in ["goodbooks-slice", "new-books"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(folder), to: coordinator.folder.appendingPathComponent(folder))
        }
        func onCoordinator(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
            try network.launch(on: coordinator, executable, arguments, environment: environments["coordinator"]!).finish(timeout: 600)
        }
        let imported = try onCoordinator("bookrec-coordinator", ["import", "--data", "goodbooks-slice"])
        XCTAssertEqual(imported.status, 0, imported.error)

        // worker1 freezes itself with its first score shard computed, not yet written: it holds a job.
        let frozen = try network.launch(
            on: worker1, "bookrec-worker", [], environment: environments["worker1"]!.merging(["BOOKREC_FAULT_AFTER": "score.before-commit:1:stop"]) { $1 })
        let doomed = try network.launch(on: worker2, "bookrec-worker", [], environment: environments["worker2"]!)
        let run = try network.launch(on: coordinator, "bookrec-coordinator", runArguments, environment: environments["coordinator"]!)
        try waitFor("worker1 to stop itself holding a score job", timeout: 300) { processState(of: frozen.process.processIdentifier) == "T" }

        // A second coordinator, from worker2's host, is refused while the first runs.
        let second = try network.launch(on: worker2, "bookrec-coordinator", runArguments, environment: environments["worker2"]!).finish(timeout: 120)
        XCTAssertEqual(second.status, 1, second.error)
        XCTAssertTrue(second.error.contains("another coordinator is running against \(database.url) (bookrec-coordinator pid "), second.error)

        // The faults: worker2 killed, worker1's link cut for 20 s with its job in hand (it wakes up
        // and tries to commit into the cut), the database restarted meanwhile.
        doomed.kill9()
        try network.cut(worker1)
        let cutAt = Date()
        kill(frozen.process.processIdentifier, SIGCONT)
        try runServerScript("postgres.sh", "restart", environment: "BOOKREC_POSTGRES_PORT=\(databasePort)", namespace: db.namespace)
        let replacement = try network.launch(on: worker2, "bookrec-worker", [], environment: environments["worker2"]!)
        Thread.sleep(until: cutAt.addingTimeInterval(20))  // the length of the outage, not a wait for anything
        try network.mend(worker1)
        XCTAssertTrue(run.isRunning, "the faults came before the run ended")
        let finished = try run.finish(timeout: 600)
        XCTAssertEqual(finished.status, 0, "coordinator failed:\n\(finished.error)")
        XCTAssertTrue(frozen.isRunning && replacement.isRunning, "both workers carried on")
        // The job worker1 held through the cut was written by worker1, once: not redelivered to another.
        let heldShard = try server.psql(
            "SELECT shardIndex || ' ' || state || ' ' || attempts FROM shard WHERE generationId = 1 AND kind = 'score' AND worker LIKE '%:\(frozen.process.processIdentifier)'",
            database: database.name)
        let heldShards = heldShard.split(separator: "\n")
        XCTAssertTrue(!heldShards.isEmpty && heldShards.allSatisfy { $0.hasSuffix(" done 1") }, "worker1's score shards (index, state, attempts): \(heldShard)")

        var exports = [try onCoordinator("bookrec-query", ["export", "-k", "20"]).output]
        for arguments in [["add-books", "new-books/new-books.csv"], ["add-ratings", "new-books/ratings.csv"]] {
            let step = try onCoordinator("bookrec-coordinator", arguments)
            XCTAssertEqual(step.status, 0, step.error)
            exports.append(try onCoordinator("bookrec-query", ["export", "-k", "20"]).output)
        }
        for (step, (got, want)) in zip(["run", "add-books", "add-ratings"], zip(exports, expected)) {
            XCTAssertTrue(got == want, "the export after \(step) on five hosts differs from one host's: \(firstDifference(got, want))")
        }
        let status = try onCoordinator("bookrec-query", ["status"])
        XCTAssertTrue(status.output.contains("dead-lettered jobs: 0"), status.output)
        let workerLogs = [frozen, replacement].map(\.errorSoFar).joined(separator: "\n")
        print(String(
            format: "five hosts: worker1's link cut 20 s with a score job in hand, worker2 killed, the database restarted: run %.1f s after the cut's end; %d committed redeliveries acknowledged",
            Date().timeIntervalSince(cutAt) - 20, workerLogs.components(separatedBy: "shard already done").count - 1))
    }
}

/// The first line where two exports differ, both ways, for a failure message.
func firstDifference(_ got: String, _ want: String) -> String {
    let left = got.split(separator: "\n", omittingEmptySubsequences: false), right = want.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, (a, b)) in zip(left, right).enumerated() where a != b { return "line \(index + 1): \(a) where one host has \(b)" }
    return "\(left.count) lines where one host has \(right.count)"
}

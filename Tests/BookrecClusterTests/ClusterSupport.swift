import BookrecData
import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// A cluster of real processes for a test: a store with the test slice imported (an SQLite file,
/// or a database of its own on a PostgreSQL server), a private queue prefix on the broker at
/// BOOKREC_AMQP_URL, and worker processes started on demand.
final class TestCluster {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory: URL
    /// The store's path or URL, as the processes get it in BOOKREC_STORE.
    let storeLocation: String
    /// The PostgreSQL database holding the store, when it is not an SQLite file.
    let database: TestDatabase?
    let prefix = "test-\(UUID().uuidString.prefix(8).lowercased())."
    let url: AMQPURL
    /// The broker URL given to the processes when it is not BOOKREC_AMQP_URL's.
    private let brokerURL: String?
    private(set) var workers: [Process] = []

    /// The folder of the built executables: where the test bundle is, or the folder around it.
    static var binaries: URL {
        let bundle = Bundle(for: TestCluster.self).bundleURL
        for candidate in [bundle, bundle.deletingLastPathComponent()]
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("bookrec-worker").path) {
            return candidate
        }
        return bundle
    }

    static let tiny = root.appendingPathComponent("Tests/Fixtures/goodbooks-tiny")

    /// `brokerURL` points the cluster at another broker (see `PrivateBroker`) than the one at
    /// BOOKREC_AMQP_URL; `postgres` keeps the store in a new database there.
    init(data: URL = root.appendingPathComponent("Tests/Fixtures/goodbooks-slice"), brokerURL: String? = nil, postgres: PostgresServer? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try postgres?.createDatabase()
        storeLocation = database?.url ?? directory.appendingPathComponent("store.sqlite").path
        self.brokerURL = brokerURL
        url = try AMQPURL.fromEnvironment(brokerURL.map { ["BOOKREC_AMQP_URL": $0] } ?? ProcessInfo.processInfo.environment)
        do {
            let connection = try AMQPConnection(url: url, events: { _ in })
            connection.close()
        } catch {
            XCTFail("RabbitMQ is not reachable at \(url) (\(error)). Run the tests with scripts/test.sh, which starts a private broker.")
            throw error
        }
        let catalog = GoodbooksLoader(directory: data).load()
        _ = try openStore().importCatalog(books: catalog.books, covers: catalog.covers, ratings: catalog.ratings)
    }

    /// The cluster's store, opened in this process.
    func openStore(readOnly: Bool = false) throws -> any Store {
        try BookrecStore.openStore(storeLocation, readOnly: readOnly, environment: environment)
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["BOOKREC_STORE"] = storeLocation
        environment.merge(database?.environment ?? [:]) { $1 }
        environment["BOOKREC_QUEUE_PREFIX"] = prefix
        if let brokerURL { environment["BOOKREC_AMQP_URL"] = brokerURL }
        return environment
    }

    /// Starts a worker; `environment` adds to the cluster's (e.g. the BOOKREC_FAULT_AFTER test hook).
    @discardableResult
    func startWorker(arguments: [String] = [], environment extra: [String: String] = [:]) throws -> Process {
        let log = directory.appendingPathComponent("worker-\(workers.count).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent("bookrec-worker")
        process.arguments = arguments
        process.environment = environment.merging(extra) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        workers.append(process)
        return process
    }

    /// Starts an executable and returns at once; `LaunchedProcess.finish` collects its output.
    /// `fileSizeLimit` (bytes) runs it under RLIMIT_FSIZE with SIGXFSZ ignored, so that a write
    /// past the limit fails with EFBIG as on a full disk, instead of killing the process.
    func launch(_ executable: String, _ arguments: [String], fileSizeLimit: Int? = nil,
                environment extra: [String: String] = [:]) throws -> LaunchedProcess {
        let process = Process()
        let path = Self.binaries.appendingPathComponent(executable).path
        if let fileSizeLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "trap '' XFSZ; exec prlimit --fsize=\(fileSizeLimit) -- \"$0\" \"$@\"", path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        process.environment = environment.merging(extra) { $1 }
        return try LaunchedProcess.start(process, name: "\(executable) \(arguments.joined(separator: " "))", logsIn: directory)
    }

    /// Runs an executable to the end; returns its exit status, standard output and error.
    func run(_ executable: String, _ arguments: [String], fileSizeLimit: Int? = nil, environment: [String: String] = [:],
             timeout: TimeInterval = 600) throws -> (status: Int32, output: String, error: String) {
        try launch(executable, arguments, fileSizeLimit: fileSizeLimit, environment: environment).finish(timeout: timeout)
    }

    /// The active generation's export, as `bookrec-query export` prints it.
    func export(k: Int) throws -> String {
        let export = try run("bookrec-query", ["export", "-k", "\(k)"])
        XCTAssertEqual(export.status, 0, export.error)
        return export.output
    }

    /// Waits until every work queue has `count` consumers: workers started and subscribed.
    func waitForConsumers(_ count: Int, timeout: TimeInterval = 60) throws {
        let inspector = try QueueInspector(url: url, topology: Topology(prefix: prefix), events: { _ in })
        defer { inspector.close() }
        try waitFor("\(count) consumers on each work queue", timeout: timeout) {
            let statuses = (try? inspector.statuses()) ?? []
            let work = Set(Topology(prefix: self.prefix).workQueues)
            return statuses.filter { work.contains($0.name) }.allSatisfy { $0.consumers == count }
        }
    }

    /// Shards of generation 1 of a kind that are done, read from the store as the coordinator does.
    func doneShards(_ kind: JobKind) -> Int {
        guard let store = try? openStore(readOnly: true),
              let shards = try? store.shards(generationID: 1, kind: kind) else { return 0 }
        return shards.filter { $0.state == .done }.count
    }

    /// Stops the workers with SIGTERM and returns their exit statuses.
    @discardableResult
    func stopWorkers() -> [Int32] {
        for worker in workers where worker.isRunning { worker.terminate() }
        let statuses = workers.map { worker -> Int32 in
            worker.waitUntilExit()
            return worker.terminationStatus
        }
        workers = []
        return statuses
    }

    func workerLogs() -> String {
        (0..<workers.count + 10).compactMap { try? String(contentsOf: directory.appendingPathComponent("worker-\($0).log"), encoding: .utf8) }.joined(separator: "\n")
    }

    func tearDown() {
        stopWorkers()
        if let connection = try? AMQPConnection(url: url, events: { _ in }) {
            try? Topology(prefix: prefix).delete(on: connection)
            connection.close()
        }
        try? FileManager.default.removeItem(at: directory)
        database?.drop()
    }
}

/// A process started by `TestCluster.launch`, with its output in files.
struct LaunchedProcess {
    let process: Process
    let name: String
    let output: URL
    let error: URL

    /// Runs `process` with its standard output and error in new files in `folder`.
    static func start(_ process: Process, name: String, logsIn folder: URL) throws -> LaunchedProcess {
        let id = UUID().uuidString
        let launched = LaunchedProcess(
            process: process, name: name, output: folder.appendingPathComponent("\(id).out"), error: folder.appendingPathComponent("\(id).err"))
        _ = FileManager.default.createFile(atPath: launched.output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: launched.error.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: launched.output)
        process.standardError = try FileHandle(forWritingTo: launched.error)
        try process.run()
        return launched
    }

    var isRunning: Bool { process.isRunning }
    var errorSoFar: String { (try? String(contentsOf: error, encoding: .utf8)) ?? "" }

    /// Waits for the exit (terminating the process after `timeout`) and returns status and output.
    func finish(timeout: TimeInterval = 600) throws -> (status: Int32, output: String, error: String) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(name) did not finish within \(Int(timeout)) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8), try String(contentsOf: error, encoding: .utf8))
    }

    /// kill -9, and waits until the kernel has reaped it.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Polls `condition` every 20 ms; throws, naming what was awaited, once `timeout` has passed.
func waitFor(_ what: String, timeout: TimeInterval, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { throw ClusterTestFailure("timed out after \(Int(timeout)) s waiting for \(what)") }
        Thread.sleep(forTimeInterval: 0.02)
    }
}

struct ClusterTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// CPU seconds (user + system) a live process has used, from /proc: how a test tells waiting
/// from spinning.
func cpuSeconds(of pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after the command name; utime and stime are fields 14 and 15 of the whole line.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The state letter of a live process from /proc ("R", "S", "T" when stopped by a signal...).
func processState(of pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
}

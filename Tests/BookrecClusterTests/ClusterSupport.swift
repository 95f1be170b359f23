import BookrecData
import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// A cluster of real processes for a test: a store file with the test slice imported, a private
/// queue prefix on the broker at BOOKREC_AMQP_URL, and worker processes started on demand.
final class TestCluster {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory: URL
    let storePath: String
    let prefix = "test-\(UUID().uuidString.prefix(8).lowercased())."
    let url: AMQPURL
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

    init(data: URL = root.appendingPathComponent("Tests/Fixtures/goodbooks-slice")) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        storePath = directory.appendingPathComponent("store.sqlite").path
        url = try AMQPURL.fromEnvironment()
        do {
            let connection = try AMQPConnection(url: url, events: { _ in })
            connection.close()
        } catch {
            XCTFail("RabbitMQ is not reachable at \(url) (\(error)). Run the tests with scripts/test.sh, which starts a private broker.")
            throw error
        }
        let catalog = GoodbooksLoader(directory: data).load()
        _ = try Store(path: storePath).importCatalog(books: catalog.books, covers: catalog.covers, ratings: catalog.ratings)
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["BOOKREC_STORE"] = storePath
        environment["BOOKREC_QUEUE_PREFIX"] = prefix
        return environment
    }

    func startWorker(arguments: [String] = []) throws {
        let log = directory.appendingPathComponent("worker-\(workers.count).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent("bookrec-worker")
        process.arguments = arguments
        process.environment = environment
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        workers.append(process)
    }

    /// Runs an executable to the end; returns its exit status, standard output and error.
    func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 600) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = environment
        let output = directory.appendingPathComponent("\(UUID().uuidString).out")
        let error = directory.appendingPathComponent("\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        FileManager.default.createFile(atPath: error.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: error)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(executable) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8), try String(contentsOf: error, encoding: .utf8))
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
        (0..<10).compactMap { try? String(contentsOf: directory.appendingPathComponent("worker-\($0).log"), encoding: .utf8) }.joined(separator: "\n")
    }

    func tearDown() {
        stopWorkers()
        if let connection = try? AMQPConnection(url: url, events: { _ in }) {
            try? Topology(prefix: prefix).delete(on: connection)
            connection.close()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

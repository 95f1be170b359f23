import BookrecQueue
import BookrecStore
import Foundation
import GRDB
import XCTest

/// A store that is busy (another process holds its write lock) makes a worker's writes fail:
/// the job is retried through the delay queue with backoff, a bounded number of times, then
/// dead-lettered, and a run with a dead-lettered job never activates its generation.
final class TransientStoreErrorTests: XCTestCase {
    /// The worker gives up fast: 3 deliveries, 0.3 s then 1.2 s apart, writes waiting 0.2 s.
    let impatientWorker = ["--max-attempts", "3", "--retry-delay", "0.3", "--busy-timeout", "0.2"]

    /// Holds the store's write lock from this process, as another writer would.
    final class WriteLock {
        private let queue: DatabaseQueue

        init(path: String) throws {
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true  // the point is a transaction left open
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE") }
        }

        func release() throws {
            try queue.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        }
    }

    /// Starts a run without workers, takes the write lock once its encode jobs wait in the queue,
    /// then starts the worker.
    private func startLockedRun(_ cluster: TestCluster, arguments: [String], jobs: Int) throws -> (LaunchedProcess, WriteLock) {
        let coordinator = try cluster.launch("bookrec-coordinator", arguments)
        let inspector = try QueueInspector(url: cluster.url, topology: Topology(prefix: cluster.prefix), events: { _ in })
        defer { inspector.close() }
        try waitFor("the encode jobs to be published", timeout: 60) {
            (try? inspector.statuses().first { $0.name.hasSuffix("encode") }?.messages) == jobs
        }
        let lock = try WriteLock(path: cluster.storeLocation)
        try cluster.startWorker(arguments: impatientWorker)
        return (coordinator, lock)
    }

    func testAJobThatKeepsFailingIsRetriedThenDeadLetteredAndTheGenerationNeverActivates() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let arguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "2", "--encode-shard-size", "100", "--top-k", "10"]
        let (coordinator, lock) = try startLockedRun(cluster, arguments: arguments, jobs: 1)
        let locked = Date()
        try waitFor("the worker to give up on the job", timeout: 60) {
            cluster.workerLogs().contains("dead-lettering g1-encode-0: gave up after 3 attempts")
        }
        let gaveUp = Date()
        try lock.release()
        let run = try coordinator.finish(timeout: 120)
        XCTAssertEqual(run.status, 1, run.error)
        XCTAssertTrue(run.error.contains("generation 1 not activated; dead-lettered:\n  encode shard 0: gave up after 3 attempts: marking a shard running failed: database is locked"),
                      run.error)

        let logs = cluster.workerLogs()
        for attempt in 1...3 { XCTAssertTrue(logs.contains("g1-encode-0 attempt \(attempt) failed: marking a shard running failed: database is locked"), logs) }
        XCTAssertTrue(logs.contains("attempt 2 in 0.3 s"), "backoff: first retry after 0.3 s\n\(logs)")
        XCTAssertTrue(logs.contains("attempt 3 in 1.2 s"), "backoff: second retry after 1.2 s\n\(logs)")
        XCTAssertFalse(logs.contains("g1-encode-0 attempt 4") || logs.contains("attempt 4 in "), "the number of attempts is bounded")

        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        XCTAssertNil(try store.activeGenerationID())
        XCTAssertEqual(try store.generation(1)?.state, .building, "not complete")
        XCTAssertEqual(try store.shards(generationID: 1, kind: .encode).map(\.state), [.failed])
        XCTAssertEqual(try store.deadLetters().map(\.reason), ["gave up after 3 attempts: marking a shard running failed: database is locked"])
        let status = try cluster.run("bookrec-query", ["status"])
        XCTAssertTrue(status.output.contains("active generation: none"), status.output)
        XCTAssertTrue(status.output.contains("generation 1 encode shard 0: gave up after 3 attempts"), status.output)
        print(String(format: "store busy throughout: 3 attempts (retries after 0.3 s and 1.2 s), dead-lettered %.1f s after the lock was taken; generation not activated",
                     gaveUp.timeIntervalSince(locked)))
    }

    func testAStoreBusyForAMomentIsRetriedAndTheRunCompletes() throws {
        let clean = try KilledWorkerTests.cleanExport()
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let (coordinator, lock) = try startLockedRun(cluster, arguments: KilledWorkerTests.runArguments, jobs: 6)
        try waitFor("a first failed attempt", timeout: 60) { cluster.workerLogs().contains("attempt 1 failed: marking a shard running failed: database is locked") }
        try lock.release()
        let run = try coordinator.finish(timeout: 120)
        XCTAssertEqual(run.status, 0, "\(run.error)\n\(cluster.workerLogs())")
        XCTAssertTrue(try cluster.export(k: 10) == clean, "the export differs from the clean run's")
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        XCTAssertEqual(try store.deadLetters(), [])
        let retries = cluster.workerLogs().components(separatedBy: "failed: marking a shard running failed: database is locked").count - 1
        print("store busy for a moment: \(retries) failed attempt(s) retried through the delay queue, run activated with the clean export")
    }
}

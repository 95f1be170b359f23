import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// A worker that cannot write to the store (its files may not grow: a full disk as far as it
/// knows) dead-letters the job it could not run but cannot record that in the store. The
/// coordinator sees the dead letter in the dead-letter queue and fails the run within seconds,
/// instead of waiting for a shard that will never finish; a stale copy of a job does not.
final class UnrecordedDeadLetterTests: XCTestCase {
    func testADeadLetterTheStoreDoesNotShowFailsTheRunWithinSeconds() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let topology = Topology(prefix: cluster.prefix)
        let coordinator = try cluster.launch("bookrec-coordinator", KilledWorkerTests.runArguments)
        let inspector = try QueueInspector(url: cluster.url, topology: topology, events: { _ in })
        defer { inspector.close() }
        try waitFor("the encode jobs to be published", timeout: 60) {
            (try? inspector.statuses().first { $0.name == topology.encodeQueue }?.messages) == 6
        }

        // A stale copy of shard 0 (other ids), dead-lettered: not the plan's job, so the run goes on.
        let publisher = try Publisher(url: cluster.url, topology: topology, events: { _ in })
        defer { publisher.close() }
        let stale = JobMessage(jobID: "stale", generation: 1, kind: .encode, shard: .init(index: 0, ids: [1, 2]))
        try publisher.publish(OutgoingMessage(
            exchange: topology.deadLetterExchange, routingKey: topology.encodeQueue, body: try stale.encoded(),
            headers: [BookrecHeader.reason: .string("a stale copy")]))
        try publisher.waitForConfirms()

        // A worker whose every store write fails (no file of its may grow past 1 byte; SIGXFSZ
        // ignored, so writes fail with EFBIG): it gives up at once, and cannot record the dead
        // letter. Its log goes to a pipe, which the limit does not touch (a few lines: the pipe
        // holds them until it is read).
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: "/bin/sh")
        worker.arguments = ["-c", "trap '' XFSZ; exec prlimit --fsize=1 -- \"$0\" --max-attempts 1",
                            TestCluster.binaries.appendingPathComponent("bookrec-worker").path]
        worker.environment = cluster.environment
        let log = Pipe()
        worker.standardError = log
        worker.standardOutput = log
        try worker.run()
        let started = Date()
        let run = try coordinator.finish(timeout: 60)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(run.status, 1, run.error)
        XCTAssertTrue(run.error.contains("generation 1 not activated; dead-lettered (seen in the dead-letter queue; the worker could not record it in"),
                      run.error)
        XCTAssertTrue(run.error.contains("encode shard "), run.error)
        XCTAssertFalse(run.error.contains("a stale copy"), run.error)
        worker.terminate()
        worker.waitUntilExit()
        let workerLog = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(workerLog.contains("could not record the dead letter in the store (attempt 5 of 5)"), workerLog)
        XCTAssertEqual(try SQLiteStore(path: cluster.storeLocation, readOnly: true).deadLetters(), [], "the store could not take it")
        XCTAssertLessThan(seconds, 30)
        print(String(format: "unrecorded dead letter: the run failed %.1f s after the worker started", seconds))
    }
}

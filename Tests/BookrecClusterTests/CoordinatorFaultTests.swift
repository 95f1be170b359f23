import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// The coordinator killed with kill -9 in the encode phase and again in the score phase: each
/// restart resumes the generation without redoing finished shards, and the run ends with the
/// clean run's export. A second coordinator started meanwhile refuses, naming the first.
final class CoordinatorFaultTests: XCTestCase {
    func testAKilledCoordinatorResumesAndASecondOneRefuses() throws {
        let clean = try KilledWorkerTests.cleanExport()
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let arguments = KilledWorkerTests.runArguments

        // 1. Killed in the encode phase: its jobs are published (and persisted), none done yet.
        let first = try cluster.launch("bookrec-coordinator", arguments)
        let inspector = try QueueInspector(url: cluster.url, topology: Topology(prefix: cluster.prefix), events: { _ in })
        defer { inspector.close() }
        try waitFor("the encode jobs to be published", timeout: 60) {
            (try? inspector.statuses().first { $0.name.hasSuffix("encode") }?.messages) == 6
        }
        first.kill9()

        // 2. Restarted with a worker that freezes after committing its third score shard, so that
        // the coordinator is killed again in the middle of the score phase, deterministically.
        let worker = try cluster.startWorker(environment: ["BOOKREC_FAULT_AFTER": "score.after-commit:3:stop"])
        let second = try cluster.launch("bookrec-coordinator", arguments)
        let lockPath = cluster.storeLocation + ".coordinator.lock"
        try waitFor("the second coordinator to hold the lock", timeout: 60) {
            ((try? String(contentsOfFile: lockPath, encoding: .utf8)) ?? "").hasPrefix("pid \(second.process.processIdentifier) ")
        }
        let refused = try cluster.run("bookrec-coordinator", arguments)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.error.contains("another coordinator is running against \(cluster.storeLocation) (pid \(second.process.processIdentifier) on "),
                      refused.error)
        try waitFor("the worker to stop after three score shards", timeout: 120) { processState(of: worker.processIdentifier) == "T" }
        XCTAssertTrue(second.isRunning, "the score phase cannot finish while the worker is frozen")
        second.kill9()
        XCTAssertTrue(second.errorSoFar.contains("resuming generation 1"), second.errorSoFar)
        XCTAssertEqual(cluster.doneShards(.score), 3)

        // 3. Restarted again: the model is not retrained, the 3 done score shards are not redone.
        let restarted = Date()
        let third = try cluster.launch("bookrec-coordinator", arguments)
        try waitFor("the third coordinator to publish the remaining score shards", timeout: 60) {
            third.errorSoFar.contains("score: 3 of 8 shards already done, 5 published")
        }
        kill(worker.processIdentifier, SIGCONT)
        let run = try third.finish(timeout: 180)
        let finished = Date()
        XCTAssertEqual(run.status, 0, "\(run.error)\n\(cluster.workerLogs())")
        XCTAssertTrue(run.error.contains("model already trained, resuming"), run.error)
        XCTAssertTrue(run.error.contains("encode: 6 of 6 shards already done, 0 published"), run.error)
        XCTAssertTrue(run.output.contains("generation 1 active"), run.output)
        XCTAssertTrue(try cluster.export(k: 10) == clean, "the export differs from the clean run's")

        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        XCTAssertEqual(try store.generations().count, 1, "every restart resumed the same generation")
        let redelivered = cluster.workerLogs().components(separatedBy: "shard already done, acknowledging the redelivery").count - 1
        print(String(format: "coordinator kill -9 in the encode and score phases: resumed twice, second coordinator refused, %d duplicate jobs acknowledged without work, %.1f s from the last restart to activation",
                     redelivered, finished.timeIntervalSince(restarted)))
    }
}

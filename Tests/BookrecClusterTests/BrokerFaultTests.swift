import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// A broker of the test's own (ports 5701 and 5702) restarted under a running cluster, and down
/// when the cluster starts: coordinator and workers report it, retry with backoff without
/// spinning, and the run ends with the clean run's export.
final class BrokerFaultTests: XCTestCase {
    func testABrokerRestartUnderAJobInHandLosesNothing() throws {
        let clean = try KilledWorkerTests.cleanExport()
        let broker = PrivateBroker(port: 5701)
        try broker.start()
        defer { try? broker.stop() }
        let cluster = try TestCluster(data: TestCluster.tiny, brokerURL: broker.url)
        defer { cluster.tearDown() }
        // The worker freezes itself after committing its second score shard, before the ack: the
        // broker goes away under a job in hand, deterministically.
        let worker = try cluster.startWorker(environment: ["BOOKREC_FAULT_AFTER": "score.after-commit:2:stop"])
        try cluster.waitForConsumers(1)
        let started = Date()
        let coordinator = try cluster.launch("bookrec-coordinator", KilledWorkerTests.runArguments)
        try waitFor("the worker to stop itself after a commit", timeout: 120) { processState(of: worker.processIdentifier) == "T" }

        try broker.stop()
        let down = Date()
        try broker.start()
        let up = Date()
        kill(worker.processIdentifier, SIGCONT)
        let run = try coordinator.finish(timeout: 300)
        let finished = Date()
        XCTAssertEqual(run.status, 0, "\(run.error)\n\(cluster.workerLogs())")
        XCTAssertTrue(try cluster.export(k: 10) == clean, "the export differs from the clean run's")

        let endpoint = "127.0.0.1:\(broker.port)"
        let logs = cluster.workerLogs()
        XCTAssertTrue(run.error.contains("amqp: connection to \(endpoint) lost"), run.error)
        XCTAssertTrue(run.error.contains("amqp: reconnecting to \(endpoint)"), run.error)
        XCTAssertTrue(logs.contains("amqp: connection to \(endpoint) lost"), logs)
        let redelivered = logs.components(separatedBy: "shard already done, acknowledging the redelivery").count - 1
        XCTAssertGreaterThanOrEqual(redelivered, 1, "the job committed but not acknowledged came back and was acknowledged\n\(logs)")
        let reconnects = (run.error + logs).components(separatedBy: "amqp: reconnecting to").count - 1
        print(String(format: "broker restart under a job in hand: broker down %.1f s, run %.1f s, %.1f s from the broker's return to activation, %d reconnect attempts (coordinator and worker), %d committed redeliveries acknowledged",
                     up.timeIntervalSince(down), finished.timeIntervalSince(started), finished.timeIntervalSince(up), reconnects, redelivered))
    }

    func testABrokerThatStaysDownIsReportedAndRetriedWithoutSpinning() throws {
        let clean = try KilledWorkerTests.cleanExport()
        let broker = PrivateBroker(port: 5702)
        try broker.start()
        defer { try? broker.stop() }
        let cluster = try TestCluster(data: TestCluster.tiny, brokerURL: broker.url)
        defer { cluster.tearDown() }
        try broker.stop()

        // Coordinator and worker start while the broker is down, and wait for it.
        let down = Date()
        let coordinator = try cluster.launch("bookrec-coordinator", KilledWorkerTests.runArguments)
        let worker = try cluster.startWorker()
        let endpoint = "127.0.0.1:\(broker.port)"
        try waitFor("both to report the broker unreachable", timeout: 30) {
            coordinator.errorSoFar.contains("amqp: broker at \(endpoint) not reachable: connecting to \(endpoint): no TCP connection (is the broker running there?)")
                && cluster.workerLogs().contains("connecting to \(endpoint): no TCP connection (is the broker running there?)")
        }
        let window: TimeInterval = 10
        let cpuBefore = (cpuSeconds(of: coordinator.process.processIdentifier) ?? 0, cpuSeconds(of: worker.processIdentifier) ?? 0)
        Thread.sleep(forTimeInterval: window)  // the fault under test is time passing with no broker
        XCTAssertTrue(coordinator.isRunning, "the coordinator waits for the broker: \(coordinator.errorSoFar)")
        XCTAssertTrue(worker.isRunning, "the worker waits for the broker: \(cluster.workerLogs())")
        let cpu = (coordinator: (cpuSeconds(of: coordinator.process.processIdentifier) ?? 0) - cpuBefore.0,
                   worker: (cpuSeconds(of: worker.processIdentifier) ?? 0) - cpuBefore.1)
        XCTAssertLessThan(cpu.coordinator, 1, "the coordinator does not spin while the broker is down")
        XCTAssertLessThan(cpu.worker, 1, "the worker does not spin while the broker is down")
        let coordinatorLog = coordinator.errorSoFar
        let workerLog = cluster.workerLogs()
        // Backoff (0.2 s doubling to 5 s for the coordinator, 1 s doubling to 5 s for each of the
        // worker's two consumers): a handful of attempts in the window, not a busy loop.
        let coordinatorAttempts = coordinatorLog.components(separatedBy: "amqp: reconnecting to \(endpoint)").count - 1
        XCTAssertGreaterThanOrEqual(coordinatorAttempts, 4, coordinatorLog)
        XCTAssertLessThanOrEqual(coordinatorAttempts, 10, coordinatorLog)
        let workerAttempts = workerLog.components(separatedBy: "retrying in").count - 1
        XCTAssertGreaterThanOrEqual(workerAttempts, 4, workerLog)
        XCTAssertLessThanOrEqual(workerAttempts, 16, workerLog)

        try broker.start()
        let up = Date()
        let run = try coordinator.finish(timeout: 300)
        let finished = Date()
        XCTAssertEqual(run.status, 0, "\(run.error)\n\(cluster.workerLogs())")
        XCTAssertTrue(try cluster.export(k: 10) == clean, "the export differs from the clean run's")
        print(String(format: "broker down %.1f s from the start: coordinator %d connection attempts, %.2f CPU s; worker %d connection attempts, %.2f CPU s over %.0f s; %.1f s from the broker's return to activation",
                     up.timeIntervalSince(down), coordinatorAttempts, cpu.coordinator, workerAttempts, cpu.worker, window, finished.timeIntervalSince(up)))
    }
}

import BookrecStore
import Foundation
import XCTest

/// kill -9 of a worker at exact moments of the encode, train and score phases (the BOOKREC_FAULT_AFTER
/// test hook, see FaultInjection): the run completes with the other or a restarted worker and
/// the export is byte-identical to a clean run's.
final class KilledWorkerTests: XCTestCase {
    static let runArguments = [
        "run", "--fused-dimension", "32", "--factors", "64", "--epochs", "2", "--encode-shard-size", "4", "--train-shard-size", "30",
        "--score-shard-size", "25", "--top-k", "10",
    ]
    /// Computed once per test class: every faulty run is compared with it byte for byte.
    private static var clean: String?

    static func cleanExport() throws -> String {
        if let clean { return clean }
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", runArguments)
        guard run.status == 0 else { throw ClusterTestFailure("clean run failed: \(run.error)") }
        let export = try cluster.export(k: 10)
        guard export.split(separator: "\n").count == 1 + 200 * 10 else { throw ClusterTestFailure("clean export is short:\n\(export)") }
        clean = export
        return export
    }

    /// One kill point per case. `alongside` starts a second, healthy worker from the beginning
    /// (it takes over at once); without it, the faulty worker works alone until it dies and a
    /// restarted one takes over. Either way a fresh worker is started after the kill.
    struct Case {
        let point: String
        let alongside: Bool
    }

    func testWorkersKilledInTheEncodePhaseLoseNothing() throws {
        try check([
            Case(point: "encode.received:1", alongside: true),
            Case(point: "encode.running:2", alongside: false),
            Case(point: "encode.before-commit:1", alongside: true),
            Case(point: "encode.before-commit:4", alongside: false),
            Case(point: "encode.after-commit:1", alongside: true),
            Case(point: "encode.after-commit:6", alongside: false),
        ])
    }

    func testWorkersKilledInTheTrainRoundsLoseNothing() throws {
        try check([
            Case(point: "train.received:1", alongside: true),
            Case(point: "train.running:9", alongside: false),
            Case(point: "train.before-commit:2", alongside: true),
            Case(point: "train.after-commit:12", alongside: false),
        ])
    }

    func testWorkersKilledInTheScorePhaseLoseNothing() throws {
        try check([
            Case(point: "score.received:1", alongside: true),
            Case(point: "score.running:3", alongside: false),
            Case(point: "score.before-commit:1", alongside: true),
            Case(point: "score.before-commit:5", alongside: false),
            Case(point: "score.after-commit:1", alongside: true),
            Case(point: "score.after-commit:8", alongside: false),
        ])
    }

    private func check(_ cases: [Case]) throws {
        let clean = try Self.cleanExport()
        for kill in cases {
            let cluster = try TestCluster(data: TestCluster.tiny)
            defer { cluster.tearDown() }
            let faulty = try cluster.startWorker(environment: ["BOOKREC_FAULT_AFTER": kill.point])
            if kill.alongside { try cluster.startWorker() }
            try cluster.waitForConsumers(kill.alongside ? 2 : 1)
            let started = Date()
            let coordinator = try cluster.launch("bookrec-coordinator", Self.runArguments)
            try waitFor("the worker to kill itself at \(kill.point)", timeout: 120) { !faulty.isRunning }
            let killed = Date()
            XCTAssertEqual(faulty.terminationReason, .uncaughtSignal, kill.point)
            XCTAssertEqual(faulty.terminationStatus, SIGKILL, kill.point)
            try cluster.startWorker()
            let run = try coordinator.finish(timeout: 180)
            let finished = Date()
            XCTAssertEqual(run.status, 0, "\(kill.point): \(run.error)\n\(cluster.workerLogs())")
            let export = try cluster.export(k: 10)
            XCTAssertTrue(export == clean, "\(kill.point): the export differs from the clean run's")

            let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
            let shards = try store.shards(generationID: 1)
            XCTAssertTrue(shards.allSatisfy { $0.state == .done }, kill.point)
            XCTAssertEqual(try store.deadLetters(), [], "\(kill.point): nothing was dead-lettered")
            // Jobs started again after the kill, and redeliveries of work already committed.
            let rerun = shards.map(\.attempts).reduce(0, +) - shards.count
            let acknowledgedAgain = cluster.workerLogs().components(separatedBy: "shard already done, acknowledging the redelivery").count - 1
            print(String(format: "kill -9 at %@ (%@): shard runs repeated %d, committed redeliveries acknowledged %d, run %.1f s, %.1f s from the kill to activation",
                         kill.point, kill.alongside ? "second worker running" : "alone, then restarted", rerun, acknowledgedAgain,
                         finished.timeIntervalSince(started), finished.timeIntervalSince(killed)))
            if kill.point.contains("after-commit") {
                XCTAssertGreaterThanOrEqual(acknowledgedAgain, 1, "\(kill.point): the committed job came back and was acknowledged, not redone")
            } else if !kill.point.contains("received") {
                XCTAssertGreaterThanOrEqual(rerun, 1, "\(kill.point): the shard in hand ran again")
            }
        }
    }
}

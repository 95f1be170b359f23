import BookrecQueue
import BookrecStore
import Foundation
import XCTest

/// Poison messages through a real worker process: each is dead-lettered with its reason (in the
/// dead-letter queue and in the store), the worker keeps consuming, `bookrec-query status` lists
/// them, and the active generation is untouched.
final class PoisonMessageTests: XCTestCase {
    func testPoisonMessagesAreDeadLetteredWithTheirReasonAndTheWorkerGoesOn() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let worker = try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", KilledWorkerTests.runArguments)
        XCTAssertEqual(run.status, 0, run.error)
        let before = try cluster.export(k: 10)

        let topology = Topology(prefix: cluster.prefix)
        let valid = #""generation":1,"job_id":"poison","shard":{"ids":[999999],"index":99},"attempt":1"#
        let poison: [(queue: String, body: Data, reason: String)] = [
            (topology.encodeQueue, Data(#"{"schema_version": 1, "job_id": "#.utf8), "poison message: malformed JSON"),
            (topology.encodeQueue, Data(#"{"schema_version":1,"kind":"retrain",\#(valid)}"#.utf8),
             "poison message: unknown kind 'retrain' (expected encode, train, score)"),
            (topology.encodeQueue, Data(#"{"schema_version":2,"kind":"encode",\#(valid)}"#.utf8),
             "poison message: unsupported schema_version 2 (this build reads 1)"),
            (topology.encodeQueue, Data(#"{"schema_version":1,"kind":"encode","generation":1,"job_id":"poison","attempt":1}"#.utf8),
             "poison message: missing field shard"),
            (topology.encodeQueue, Data(#"{"schema_version":1,"kind":"encode",\#(valid)}"#.utf8),
             "encode shard 99 is not in the plan of generation 1"),
            (topology.scoreQueue, Data(#"{"schema_version":1,"kind":"score",\#(valid)}"#.utf8),
             "score shard 99 is not in the plan of generation 1"),
            (topology.scoreQueue, Data(#"{"schema_version":1,"kind":"score","generation":1,"job_id":"forged","shard":{"ids":[1,2],"index":0},"attempt":1}"#.utf8),
             "score shard 0 of generation 1 names other ids than its plan (2 ids, 25 planned)"),
            (topology.encodeQueue, Data(repeating: UInt8(ascii: " "), count: JobMessage.maxBodySize + 1),
             "poison message: body of 1048577 bytes exceeds the limit of 1048576"),
            // Ten times the limit: read frame by frame, only an excerpt kept, in the queue and the store.
            (topology.encodeQueue, Data((0..<(10 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }),
             "poison message: body of 10485760 bytes exceeds the limit of 1048576"),
        ]
        let publisher = try Publisher(url: cluster.url, topology: topology, events: { _ in })
        defer { publisher.close() }
        for message in poison {
            try publisher.publish(OutgoingMessage(routingKey: message.queue, body: message.body, messageID: "poison"))
        }
        // A valid job after them: a redelivery of finished work, which the worker acknowledges.
        let planned = try XCTUnwrap(SQLiteStore(path: cluster.storeLocation, readOnly: true).shard(generationID: 1, kind: .encode, index: 0))
        try publisher.publish(JobMessage(jobID: "g1-encode-0-again", generation: 1, kind: .encode, shard: .init(index: 0, ids: planned.ids)), on: topology)
        try publisher.waitForConfirms()

        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        try waitFor("\(poison.count) dead letters in the store", timeout: 60) { ((try? store.deadLetters()) ?? []).count == poison.count }
        try waitFor("the valid job after them to be handled", timeout: 60) {
            cluster.workerLogs().contains("g1-encode-0-again: shard already done, acknowledging the redelivery")
        }
        XCTAssertTrue(worker.isRunning, "the worker keeps running")
        let recorded = try store.deadLetters().map(\.reason)
        for message in poison {
            XCTAssertEqual(recorded.filter { $0.hasPrefix(message.reason) }.count, 1, "store: \(message.reason)\nall: \(recorded)")
        }
        let inspector = try QueueInspector(url: cluster.url, topology: topology, events: { _ in })
        defer { inspector.close() }
        let queued = try inspector.deadLetters(limit: 20)
        XCTAssertEqual(queued.count, poison.count)
        for message in poison {
            // An oversize body is not copied whole: the dead letter holds its first bytes and its size.
            let kept = message.body.count > JobMessage.maxBodySize ? message.body.prefix(Delivery.excerptLength) : message.body
            let copy = queued.first { $0.reason.hasPrefix(message.reason) }
            XCTAssertEqual(copy?.body, kept, "dead-letter queue: \(message.reason)")
            XCTAssertEqual(copy?.bodySize, message.body.count > JobMessage.maxBodySize ? message.body.count : nil, message.reason)
        }
        let storedBodies = try store.deadLetters().map(\.keptBodyBytes).sorted()
        XCTAssertEqual(storedBodies, poison.map { min($0.body.count, $0.body.count > JobMessage.maxBodySize ? Delivery.excerptLength : .max) }.sorted(),
                       "the store keeps whole bodies up to the limit and the first \(Delivery.excerptLength) bytes of larger ones")

        let status = try cluster.run("bookrec-query", ["status"])
        XCTAssertEqual(status.status, 0, status.error)
        XCTAssertTrue(status.output.contains("dead-lettered jobs: \(poison.count)"), status.output)
        // Generation 1 is complete: its three dead letters are history, not current failures; the
        // six messages that name no job stay current.
        XCTAssertTrue(status.output.contains("(6 current, 3 of generations no longer being built)"), status.output)
        XCTAssertTrue(status.output.contains("[past] generation 1 score shard 0: score shard 0 of generation 1 names other ids"), status.output)
        for message in poison { XCTAssertTrue(status.output.contains(message.reason), "status lists: \(message.reason)\n\(status.output)") }
        let json = try cluster.run("bookrec-query", ["status", "--json"])
        let state = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as! [String: Any]
        XCTAssertEqual((state["dead_letters"] as? [[String: Any]])?.count, poison.count)
        XCTAssertEqual(state["active_generation"] as? Int, 1)
        XCTAssertTrue(try cluster.export(k: 10) == before, "the active generation is untouched")
        XCTAssertEqual(cluster.stopWorkers(), [0], "the worker still stops cleanly")
        print("poison messages: \(poison.count) kinds dead-lettered with their reasons, in the queue and the store; the worker handled the next job")
    }
}

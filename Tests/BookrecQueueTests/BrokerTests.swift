@testable import BookrecQueue
import CRabbitMQ
import Foundation
import XCTest

final class BrokerTests: BrokerTestCase {
    func testThousandConfirmedMessagesAreConsumedExactlyOnce() throws {
        let count = 1000
        try publishNumbered(count, to: topology.encodeQueue)
        XCTAssertEqual(try readyMessages(in: topology.encodeQueue), count)

        let seen = Locked([Int: Int]())
        let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(prefetch: 50), events: { _ in })
        try consumer.consume(queue: topology.encodeQueue, shouldStop: stopWhen(timeout: 60) { seen.current.count == count }) { delivery in
            XCTAssertEqual(delivery.contentType, "application/json")
            XCTAssertEqual(delivery.attempt, 1)
            seen.withValue { $0[number(in: delivery), default: 0] += 1 }
            return .ack
        }
        XCTAssertEqual(Set(seen.current.keys), Set(0..<count))
        XCTAssertEqual(seen.current.values.filter { $0 != 1 }.count, 0, "every message once")
        XCTAssertEqual(try readyMessages(in: topology.encodeQueue), 0)
    }

    func testDeadLetterOutcomeAndPoisonGoToTheDeadQueueWithTheirReason() throws {
        let publisher = try Publisher(url: url, topology: topology, events: { _ in })
        try publisher.publish(JobMessage(jobID: "j1", generation: 1, kind: .score, shard: .init(index: 0, ids: [1])), on: topology)
        try publisher.publish(OutgoingMessage(routingKey: topology.scoreQueue, body: Data("{oops".utf8), messageID: "j2"))
        try publisher.waitForConfirms()

        let handled = Locked(0)
        let consumer = Consumer(url: url, topology: topology, events: { _ in })
        try consumer.consume(queue: topology.scoreQueue, shouldStop: stopWhen(timeout: 30) { handled.current == 2 }) { delivery in
            defer { handled.withValue { $0 += 1 } }
            let job = try JobMessage.decode(body: delivery.body)  // j2 throws PoisonMessage
            return .deadLetter(reason: "item ids not in catalog: \(job.shard.ids)")
        }

        let inspector = try QueueInspector(url: url, topology: topology, events: { _ in })
        let letters = try inspector.deadLetters(limit: 10)
        XCTAssertEqual(letters.map(\.messageID), ["j1", "j2"])
        XCTAssertEqual(letters.first?.reason, "item ids not in catalog: [1]")
        XCTAssertTrue(letters.last?.reason.hasPrefix("poison message: malformed JSON") ?? false, "\(letters)")
        XCTAssertEqual(letters.map(\.originalQueue), [topology.scoreQueue, topology.scoreQueue])
        XCTAssertEqual(try inspector.deadLetters(limit: 1).count, 1, "browsing leaves the messages in place")
        XCTAssertEqual(try readyMessages(in: topology.deadLetterQueue), 2)
        XCTAssertEqual(try readyMessages(in: topology.scoreQueue), 0)
    }

    func testTransientFailureIsRetriedThenDeadLettered() throws {
        try publishNumbered(1, to: topology.encodeQueue)
        let attempts = Locked([Int]())
        let policy = RetryPolicy(maxAttempts: 3, backoff: Backoff(initial: 0.05, maximum: 0.2))
        let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(retry: policy), events: { _ in })
        let deadline = Date().addingTimeInterval(30)
        try consumer.consume(queue: topology.encodeQueue, shouldStop: {
            (attempts.current.count == 3 && (try? self.readyMessages(in: self.topology.deadLetterQueue)) == 1) || Date() > deadline
        }) { delivery in
            attempts.withValue { $0.append(delivery.attempt) }
            return .retry(error: "store is locked")
        }
        XCTAssertEqual(attempts.current, [1, 2, 3])
        let letters = try QueueInspector(url: url, topology: topology, events: { _ in }).deadLetters(limit: 5)
        XCTAssertEqual(letters.map(\.reason), ["gave up after 3 attempts: store is locked"])
        XCTAssertEqual(letters.first?.attempt, 3)
        XCTAssertEqual(letters.first?.messageID, "m0")
        XCTAssertEqual(try readyMessages(in: topology.retryQueue), 0)
    }

    func testThrownErrorCountsAsTransient() throws {
        struct StoreBusy: Error {}
        try publishNumbered(1, to: topology.scoreQueue)
        let attempts = Locked(0)
        let policy = RetryPolicy(maxAttempts: 2, backoff: Backoff(initial: 0, maximum: 0))
        let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(retry: policy), events: { _ in })
        try consumer.consume(queue: topology.scoreQueue, shouldStop: stopWhen(timeout: 30) { attempts.current == 2 }) { _ in
            attempts.withValue { $0 += 1 }
            throw StoreBusy()
        }
        let letters = try QueueInspector(url: url, topology: topology, events: { _ in }).deadLetters(limit: 5)
        XCTAssertEqual(letters.map(\.reason), ["gave up after 2 attempts: StoreBusy()"])
    }

    func testMessageUnackedWhenTheConnectionDropsIsRedelivered() throws {
        try publishNumbered(1, to: topology.encodeQueue)
        // A consumer that takes the message and then dies without acknowledging it.
        do {
            let doomed = try connect(url, topology: topology)
            try doomed.openChannel(1)
            try doomed.startConsuming(topology.encodeQueue, channel: 1)
            var first: Delivery?
            for _ in 0..<50 where first == nil { first = try doomed.nextDelivery(queue: topology.encodeQueue, timeout: 0.2, bodyLimit: .max) }
            XCTAssertEqual(first?.redelivered, false)
            XCTAssertEqual(first.map(number(in:)), 0)
            shutdown(amqp_get_sockfd(doomed.state), Int32(SHUT_RDWR))  // as if the process died
        }
        let redelivered = Locked([Delivery]())
        let consumer = Consumer(url: url, topology: topology, events: { _ in })
        try consumer.consume(queue: topology.encodeQueue, shouldStop: stopWhen(timeout: 30) { !redelivered.current.isEmpty }) { delivery in
            redelivered.withValue { $0.append(delivery) }
            return .ack
        }
        XCTAssertEqual(redelivered.current.map(\.redelivered), [true])
        XCTAssertEqual(redelivered.current.map(number(in:)), [0])
    }

    func testStopFlagFinishesTheMessageInHandAndLeavesTheRest() throws {
        try publishNumbered(10, to: topology.encodeQueue)
        let handled = Locked(0)
        let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(prefetch: 5), events: { _ in })
        try consumer.consume(queue: topology.encodeQueue, shouldStop: { handled.current >= 3 }) { _ in
            Thread.sleep(forTimeInterval: 0.3)  // longer than the poll interval
            handled.withValue { $0 += 1 }
            return .ack
        }
        XCTAssertEqual(handled.current, 3)
        XCTAssertEqual(try readyMessages(in: topology.encodeQueue), 7, "prefetched but unhandled ones are back")
    }

    func testUnroutableMessageIsAnError() throws {
        let publisher = try Publisher(url: url, events: { _ in })
        try publisher.publish(OutgoingMessage(routingKey: topology.prefix + "no-such-queue", body: Data("{}".utf8)))
        XCTAssertThrowsError(try publisher.waitForConfirms()) { error in
            guard case .unroutable(_, let key, 312, _)? = error as? AMQPError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, self.topology.prefix + "no-such-queue")
        }
    }

    func testStatusesCountMessagesAndReportMissingQueues() throws {
        try publishNumbered(3, to: topology.scoreQueue)
        let inspector = try QueueInspector(url: url, topology: topology, events: { _ in })
        let statuses = try inspector.statuses()
        XCTAssertEqual(statuses.map(\.name), topology.allQueues)
        XCTAssertEqual(statuses.map(\.messages), topology.allQueues.map { $0 == topology.scoreQueue ? 3 : 0 })
        let missing = try QueueInspector(url: url, topology: Topology(prefix: topology.prefix + "absent."), events: { _ in })
        XCTAssertEqual(try missing.statuses().map(\.messages), topology.allQueues.map { _ in nil })
    }

    func testChannelErrorsNameTheOperation() throws {
        let connection = try connect(url, topology: topology)
        try connection.openChannel(1)
        XCTAssertThrowsError(try connection.startConsuming(topology.prefix + "nope", channel: 1)) { error in
            XCTAssertEqual(error as? AMQPError, .channelClosed(
                operation: "consuming from queue \(topology.prefix)nope", code: 404,
                text: "NOT_FOUND - no queue '\(topology.prefix)nope' in vhost '/'"))
            XCTAssertFalse((error as? AMQPError)?.isRecoverable ?? true)
        }
    }

    func testBadCredentialsFailWithoutLeakingThePassword() {
        var wrong = url
        wrong.password = "not-the-password"
        XCTAssertThrowsError(try AMQPConnection(url: wrong, events: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("logging in to \(url.endpoint)"), "\(error)")
            XCTAssertFalse("\(error)".contains("not-the-password"))
        }
    }

    func testThroughputOfEmptyJobs() throws {
        let count = 5000
        var start = Date()
        try publishNumbered(count, to: topology.encodeQueue)
        let publishRate = Double(count) / Date().timeIntervalSince(start)

        let handled = Locked(0)
        start = Date()
        let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(prefetch: 100), events: { _ in })
        try consumer.consume(queue: topology.encodeQueue, shouldStop: stopWhen(timeout: 120) { handled.current == count }) { _ in
            handled.withValue { $0 += 1 }
            return .ack
        }
        let consumeRate = Double(count) / Date().timeIntervalSince(start)
        XCTAssertEqual(handled.current, count)
        print(String(format: "throughput: published %d persistent confirmed messages at %.0f msg/s; consumed and acked at %.0f msg/s (prefetch 100)",
                     count, publishRate, consumeRate))
    }
}

final class HeartbeatTests: BrokerTestCase {
    /// With 1 s heartbeats the broker drops a connection silent for 2 s; a 4 s job must not
    /// lose its consumer connection, since the consumer keeps reading while the handler runs.
    func testLongJobKeepsTheConnectionAlive() throws {
        try publishNumbered(2, to: topology.encodeQueue)
        let events = Locked([QueueEvent]())
        let handled = Locked(0)
        let options = ConsumerOptions(prefetch: 2, connection: ConnectionOptions(heartbeat: 1))
        let consumer = Consumer(url: url, topology: topology, options: options, events: { event in events.withValue { $0.append(event) } })
        try consumer.consume(queue: topology.encodeQueue, shouldStop: stopWhen(timeout: 60) { handled.current == 2 }) { delivery in
            if delivery.messageID == "m0" { Thread.sleep(forTimeInterval: 4) }
            handled.withValue { $0 += 1 }
            return delivery.messageID == "m0" ? .ack : .deadLetter(reason: "after a long idle spell")
        }
        XCTAssertEqual(events.current.filter { if case .connected = $0 { return false } else { return true } }.map(\.description),
                       ["amqp: \(topology.encodeQueue) message m1 dead-lettered: after a long idle spell"],
                       "no connection was lost")
        XCTAssertEqual(try readyMessages(in: topology.encodeQueue), 0)
        XCTAssertEqual(try readyMessages(in: topology.deadLetterQueue), 1)
    }
}

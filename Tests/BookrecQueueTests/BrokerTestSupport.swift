@testable import BookrecQueue
import Foundation
import XCTest

/// A test against the broker at `BOOKREC_AMQP_URL`, with its own topology under a random prefix,
/// deleted afterwards. An unreachable broker fails the test: these tests are part of the suite.
class BrokerTestCase: XCTestCase {
    private(set) var url = AMQPURL()
    private(set) var topology = Topology()
    private var admin: AMQPConnection?

    override func setUpWithError() throws {
        url = try AMQPURL.fromEnvironment()
        topology = Topology(prefix: "test-\(UUID().uuidString.prefix(8).lowercased()).")
        admin = try connect(url, topology: topology)
    }

    override func tearDownWithError() throws {
        if let admin { try topology.delete(on: admin) }
        admin = nil
    }

    /// Publishes `count` small JSON messages to `queue` with confirms; bodies are `{"n": i}`.
    func publishNumbered(_ count: Int, to queue: String, url: AMQPURL? = nil,
                         events: @escaping (QueueEvent) -> Void = { _ in }) throws {
        let publisher = try Publisher(url: url ?? self.url, topology: topology, events: events)
        for index in 0..<count {
            try publisher.publish(OutgoingMessage(routingKey: queue, body: Data("{\"n\":\(index)}".utf8), messageID: "m\(index)"))
        }
        try publisher.waitForConfirms()
        publisher.close()
    }

    func readyMessages(in queue: String) throws -> Int? {
        let inspector = try QueueInspector(url: url, topology: topology, events: { _ in })
        defer { inspector.close() }
        return try inspector.statuses().first { $0.name == queue }?.messages
    }
}

/// Connects and declares `topology`, failing the test with directions when the broker is down.
func connect(_ url: AMQPURL, topology: Topology, file: StaticString = #filePath, line: UInt = #line) throws -> AMQPConnection {
    do {
        let connection = try AMQPConnection(url: url, events: { _ in })
        try topology.declare(on: connection)
        return connection
    } catch {
        XCTFail("""
            RabbitMQ is not reachable at \(url) (\(error)). Run the tests with scripts/test.sh, which starts \
            a private broker and exports BOOKREC_AMQP_URL (or start one with scripts/broker.sh start).
            """, file: file, line: line)
        throw error
    }
}

/// A value shared between the consuming thread and the handler thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withValue { $0 } }
}

/// A stop condition for `consume`: `done` turned true, or the time is up (a test must not hang).
func stopWhen(timeout: TimeInterval, _ done: @escaping () -> Bool) -> () -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    return { done() || Date() > deadline }
}

func number(in delivery: Delivery) -> Int {
    let object = try? JSONSerialization.jsonObject(with: delivery.body) as? [String: Int]
    return object?["n"] ?? -1
}

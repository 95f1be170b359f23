import BookrecQueue
import Foundation
import XCTest

/// Restarts a broker of its own (port 5699, never the shared one) while publishing and while
/// consuming, and checks that no message is lost.
final class BrokerRestartTests: XCTestCase {
    private static let port = 5699

    func testBrokerRestartsLoseNothing() throws {
        try broker("start")
        defer { try? broker("stop") }
        var url = try AMQPURL.fromEnvironment()
        url.port = Self.port
        let topology = Topology(prefix: "restart-\(UUID().uuidString.prefix(8).lowercased()).")
        let events = Locked([QueueEvent]())
        let record: (QueueEvent) -> Void = { event in
            print(event)
            events.withValue { $0.append(event) }
        }
        let count = 2000

        // Publish on a helper thread, restarting the broker a quarter of the way through.
        let published = Locked(0)
        let publishing = Thread.detachAndJoinable {
            let publisher = try Publisher(url: url, topology: topology, events: record)
            for index in 0..<count {
                try publisher.publish(OutgoingMessage(routingKey: topology.encodeQueue, body: Data("{\"n\":\(index)}".utf8)))
                published.withValue { $0 += 1 }
                // Slow enough (10 s in all) that the broker goes down while messages still flow.
                Thread.sleep(forTimeInterval: 0.005)
            }
            try publisher.waitForConfirms()
        }
        try waitUntil(timeout: 60) { published.current >= count / 4 }
        try broker("restart")
        try publishing.join(timeout: 300)
        // Whether messages were in flight at the cut (and so republished) depends on timing; that the
        // publisher lost its connection and went on does not. Nothing lost is checked below.
        XCTAssertTrue(events.current.contains { if case .connectionLost = $0 { return true } else { return false } },
                      "the restart cut the publisher's connection")

        // Consume on this thread, restarting the broker a quarter of the way through.
        let seen = Locked(Set<Int>())
        let restarting = Thread.detachAndJoinable {
            try waitUntil(timeout: 60) { seen.current.count >= count / 4 }
            try self.broker("restart")
        }
        let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(prefetch: 20), events: record)
        try consumer.consume(queue: topology.encodeQueue, shouldStop: stopWhen(timeout: 300) {
            seen.current.count == count && restarting.isFinished
        }) { delivery in
            Thread.sleep(forTimeInterval: 0.002)
            seen.withValue { _ = $0.insert(number(in: delivery)) }
            return .ack
        }
        try restarting.join(timeout: 120)

        XCTAssertEqual(seen.current, Set(0..<count), "every published message was consumed (duplicates allowed)")
        let reconnects = events.current.filter { if case .reconnecting = $0 { return true } else { return false } }
        XCTAssertFalse(reconnects.isEmpty)
        XCTAssertTrue(reconnects.allSatisfy { $0.description.contains("127.0.0.1:\(Self.port)") })

        let connection = try AMQPConnection(url: url, events: { _ in })
        try topology.delete(on: connection)
    }

    /// Runs scripts/broker.sh for the port of this test; "restart" is stop then start.
    ///
    /// Spawned by hand rather than with Foundation's Process: the broker daemonizes, and Process
    /// learns of its child's exit through a descriptor that the daemon would inherit and keep
    /// open. For the same reason the script runs with every descriptor past stderr closed and its
    /// output in a file, so that the daemon holds none of ours (test output, AMQP sockets).
    private func broker(_ command: String) throws {
        if command == "restart" {
            try broker("stop")
            return try broker("start")
        }
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-broker-\(Self.port).log")
        let script = """
            exec </dev/null >'\(log.path)' 2>&1
            for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
            BOOKREC_BROKER_PORT=\(Self.port) exec '\(root.path)/scripts/broker.sh' \(command)
            """
        let words: [String] = ["/bin/bash", "-c", script]
        let arguments = words.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, arguments, environ)
        guard spawned == 0 else { throw TestFailure("cannot run scripts/broker.sh: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw TestFailure("scripts/broker.sh \(command) on port \(Self.port) failed (wait status \(status)): \(output)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { throw TestFailure("condition not met within \(timeout) s") }
        Thread.sleep(forTimeInterval: 0.05)
    }
}

/// A thread whose error, if any, `join` rethrows.
final class JoinableThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let error = Locked<Error?>(nil)
    private let finished = Locked(false)

    fileprivate init(_ body: @escaping () throws -> Void) {
        Thread.detachNewThread { [self] in
            do { try body() } catch { self.error.withValue { $0 = error } }
            finished.withValue { $0 = true }
            done.signal()
        }
    }

    var isFinished: Bool { finished.current }

    func join(timeout: TimeInterval) throws {
        guard done.wait(timeout: .now() + timeout) == .success else { throw TestFailure("thread still running after \(timeout) s") }
        done.signal()  // later joins return at once
        if let error = error.current { throw error }
    }
}

extension Thread {
    static func detachAndJoinable(_ body: @escaping () throws -> Void) -> JoinableThread {
        JoinableThread(body)
    }
}

import CRabbitMQ
import Foundation

/// Read-only views of the queues for `bookrec-query status`.
///
/// Dead letters are browsed with basic.get without acknowledging, on a temporary channel that is
/// closed afterwards, which puts every fetched message back in the queue in its place (marked
/// redelivered). Browsing therefore never removes anything; the worker records each dead-letter
/// reason in the store as well, for history that outlives the queue.
///
/// Not thread-safe (it owns an `AMQPConnection`).
public final class QueueInspector {
    public struct QueueStatus: Equatable, Sendable {
        public let name: String
        /// Ready messages (not those delivered and awaiting acknowledgement); nil if the queue does not exist.
        public let messages: Int?
        public let consumers: Int?
    }

    public struct DeadLetter: Equatable, Sendable {
        public let body: Data
        public let messageID: String?
        /// `x-bookrec-reason`, or a note that the broker dead-lettered it on its own (no such header).
        public let reason: String
        public let originalQueue: String?
        public let attempt: Int
        /// For an excerpt of an oversize message (`x-bookrec-body-size`): the size of the whole body.
        public let bodySize: Int?
    }

    public let topology: Topology
    private let connection: AMQPConnection

    public init(url: AMQPURL, topology: Topology, options: ConnectionOptions = .init(),
                events: @escaping (QueueEvent) -> Void = QueueEvent.logToStandardError) throws {
        self.topology = topology
        connection = try AMQPConnection(url: url, options: options, events: events)
    }

    /// Counts for every queue of the topology, by passive declares (which create nothing).
    public func statuses() throws -> [QueueStatus] {
        try topology.allQueues.map { name in
            do {
                let counts = try connection.withTemporaryChannel { channel in
                    try connection.declareQueue(name, passive: true, channel: channel)
                }
                return QueueStatus(name: name, messages: counts.messages, consumers: counts.consumers)
            } catch AMQPError.channelClosed(_, code: UInt16(AMQP_NOT_FOUND), _) {
                return QueueStatus(name: name, messages: nil, consumers: nil)
            }
        }
    }

    /// Up to `limit` messages from the head of the dead-letter queue, left in place.
    public func deadLetters(limit: Int) throws -> [DeadLetter] {
        try connection.withTemporaryChannel { channel in
            var letters: [DeadLetter] = []
            while letters.count < limit, let delivery = try connection.get(topology.deadLetterQueue, channel: channel) {
                letters.append(DeadLetter(
                    body: delivery.body, messageID: delivery.messageID,
                    reason: delivery.headers[BookrecHeader.reason]?.stringValue
                        ?? "dead-lettered by the broker (no \(BookrecHeader.reason) header)",
                    originalQueue: delivery.headers[BookrecHeader.originalQueue]?.stringValue,
                    attempt: delivery.attempt,
                    bodySize: delivery.headers[BookrecHeader.bodySize]?.intValue.map(Int.init)))
            }
            return letters
        }
    }

    public func close() {
        connection.close()
    }
}

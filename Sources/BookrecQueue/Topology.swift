import CRabbitMQ
import Foundation

/// bookrec's exchanges and queues, all durable, with names under a prefix so that tests (or two
/// deployments on one broker) are isolated from each other.
///
///     <prefix>bookrec.encode, <prefix>bookrec.train, <prefix>bookrec.score
///                            work queues, dead-lettering to bookrec.dlx
///     <prefix>bookrec.dlx    (fanout) -> <prefix>bookrec.dead     dead letters, kept for inspection
///     <prefix>bookrec.retry  (fanout) -> <prefix>bookrec.retry    delay queue for retries
///     <prefix>bookrec.reindex  enqueued reindex requests for `bookrec-coordinator serve`,
///                            dead-lettering to bookrec.dlx
///
/// Retries wait in the delay queue with a per-message TTL; when it expires the broker dead-letters
/// the message to the default exchange under its routing key, which is its work queue's name, so
/// it returns to that queue. Workers never sleep on a failed job and a waiting retry survives a
/// worker crash. RabbitMQ expires messages only at the head of a queue, so a retry may wait longer
/// than its own delay behind a longer one, never shorter.
///
/// Results need no queue: workers write them to the SQLite store, which the coordinator reads.
public struct Topology: Equatable, Sendable {
    public let prefix: String

    /// `prefix` is prepended verbatim, so end it with a separator: "staging." gives "staging.bookrec.encode".
    public init(prefix: String = "") {
        self.prefix = prefix
    }

    public var encodeQueue: String { prefix + "bookrec.encode" }
    public var trainQueue: String { prefix + "bookrec.train" }
    public var scoreQueue: String { prefix + "bookrec.score" }
    public var deadLetterExchange: String { prefix + "bookrec.dlx" }
    public var deadLetterQueue: String { prefix + "bookrec.dead" }
    public var retryExchange: String { prefix + "bookrec.retry" }
    public var retryQueue: String { prefix + "bookrec.retry" }
    public var reindexQueue: String { prefix + "bookrec.reindex" }

    public var workQueues: [String] { [encodeQueue, trainQueue, scoreQueue] }
    /// Every queue, in the order `bookrec-query status` shows them.
    public var allQueues: [String] { workQueues + [reindexQueue, retryQueue, deadLetterQueue] }

    /// The work queue for a job kind.
    public func queue(for kind: JobMessage.Kind) -> String {
        switch kind {
        case .encode: return encodeQueue
        case .train: return trainQueue
        case .score: return scoreQueue
        }
    }

    /// Declares everything; idempotent. Fails with 406 PRECONDITION_FAILED if a queue exists
    /// with other arguments (delete it, or use another prefix).
    public func declare(on connection: AMQPConnection) throws {
        try connection.withTemporaryChannel { channel in
            try connection.declareExchange(deadLetterExchange, type: "fanout", channel: channel)
            try connection.declareQueue(deadLetterQueue, channel: channel)
            try connection.bindQueue(deadLetterQueue, exchange: deadLetterExchange, channel: channel)

            try connection.declareExchange(retryExchange, type: "fanout", channel: channel)
            try connection.declareQueue(retryQueue, arguments: ["x-dead-letter-exchange": .string("")], channel: channel)
            try connection.bindQueue(retryQueue, exchange: retryExchange, channel: channel)

            for queue in workQueues + [reindexQueue] {
                try connection.declareQueue(queue, arguments: ["x-dead-letter-exchange": .string(deadLetterExchange)],
                                            channel: channel)
            }
        }
    }

    /// Deletes everything `declare` made, messages included (tests clean up with it).
    public func delete(on connection: AMQPConnection) throws {
        try connection.withTemporaryChannel { channel in
            for queue in allQueues { try connection.deleteQueue(queue, channel: channel) }
            for exchange in [deadLetterExchange, retryExchange] { try connection.deleteExchange(exchange, channel: channel) }
        }
    }
}

extension AMQPConnection {
    /// Channel for one-off RPCs, apart from the publishing/consuming channel 1 so that a
    /// channel error (e.g. a 404 on a passive declare) does not close that one.
    static let temporaryChannel: amqp_channel_t = 2

    /// Runs `body` on a fresh temporary channel and closes the channel afterwards, unless the
    /// broker already closed it.
    func withTemporaryChannel<T>(_ body: (amqp_channel_t) throws -> T) throws -> T {
        let channel = Self.temporaryChannel
        try openChannel(channel)
        let result: T
        do {
            result = try body(channel)
        } catch {
            if isOpen && !error.closedChannel { try? closeChannel(channel) }
            throw error
        }
        try closeChannel(channel)
        return result
    }
}

private extension Error {
    var closedChannel: Bool {
        if case .channelClosed? = self as? AMQPError { return true }
        return false
    }
}

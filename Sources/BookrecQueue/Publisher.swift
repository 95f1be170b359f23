import CRabbitMQ
import Foundation

public struct PublisherOptions: Equatable, Sendable {
    /// At most this many messages wait for the broker's confirm; publishing beyond waits.
    public var confirmWindow: Int
    public var connection: ConnectionOptions
    public var reconnect: ReconnectPolicy

    public init(confirmWindow: Int = 256, connection: ConnectionOptions = .init(), reconnect: ReconnectPolicy = .init()) {
        precondition(confirmWindow >= 1, "the confirm window holds at least one message")
        self.confirmWindow = confirmWindow
        self.connection = connection
        self.reconnect = reconnect
    }
}

/// Publishes persistent messages with publisher confirms, so that none is lost: a message counts
/// as sent only once the broker has confirmed it (written it to disk, for durable queues).
///
/// Messages are kept until confirmed. If the broker nacks one, or the connection dies, the
/// unconfirmed ones are published again (after reconnecting with backoff), so a broker restart
/// loses nothing, but a message may arrive twice: consumers must be idempotent.
/// Call `waitForConfirms()` before relying on what was published, and before closing.
///
/// Not thread-safe (it owns an `AMQPConnection`): one publisher per thread.
public final class Publisher {
    private static let channel: amqp_channel_t = 1

    public let url: AMQPURL
    private let topology: Topology?
    private let options: PublisherOptions
    private let events: (QueueEvent) -> Void
    private var connection: AMQPConnection
    /// Published but not yet confirmed, by delivery tag. Tags count 1, 2, 3... per channel, so they
    /// restart on every new connection.
    private var unconfirmed: [UInt64: OutgoingMessage] = [:]
    private var nextTag: UInt64 = 1
    /// A basic.return not yet reported to the caller.
    private var returned: AMQPError?

    /// Connects, declaring `topology` if given (and again after every reconnect). A broker that
    /// is down or restarting is waited for as after a lost connection (reported, then retried per
    /// `options.reconnect`); refusals such as a wrong password or vhost fail at once.
    public init(url: AMQPURL, topology: Topology? = nil, options: PublisherOptions = .init(),
                events: @escaping (QueueEvent) -> Void = QueueEvent.logToStandardError) throws {
        self.url = url
        self.topology = topology
        self.options = options
        self.events = events
        do {
            connection = try Self.connect(url: url, topology: topology, options: options, events: events)
        } catch let error as AMQPError where error.isRecoverable {
            let reconnector = Reconnector(url: url, policy: options.reconnect, events: events)
            // Without a stop condition, reconnect returns a connection or throws.
            connection = try reconnector.reconnect(after: error, neverConnected: true) {
                try Self.connect(url: url, topology: topology, options: options, events: events)
            }!
        }
    }

    /// How many published messages the broker has not confirmed yet.
    public var unconfirmedCount: Int { unconfirmed.count }

    /// Publishes `message`, first waiting while the confirm window is full. Throws a message
    /// returned as unroutable earlier (a missing queue), or the failure to reconnect.
    public func publish(_ message: OutgoingMessage) throws {
        try reportReturned()
        while unconfirmed.count >= options.confirmWindow {
            try recovering { try readConfirms(timeout: 1) }
        }
        try recovering {
            try send(message)
            try readConfirms(timeout: 0)  // keeps up with confirms without waiting
        }
    }

    /// Publishes a job to its kind's work queue, with the job id as message id.
    public func publish(_ job: JobMessage, on topology: Topology) throws {
        try publish(OutgoingMessage(routingKey: topology.queue(for: job.kind), body: try job.encoded(), messageID: job.jobID))
    }

    /// Returns once the broker has confirmed every message published so far.
    public func waitForConfirms() throws {
        while !unconfirmed.isEmpty {
            try recovering { try readConfirms(timeout: 1) }
        }
        try reportReturned()
    }

    /// Handles confirms that arrived, without waiting. Reading is also what services heartbeats,
    /// so an otherwise idle publisher should call this at least every heartbeat interval; if it
    /// does not, the broker drops the connection and the next call reconnects (losing nothing).
    public func poll() throws {
        try recovering { try readConfirms(timeout: 0) }
        try reportReturned()
    }

    /// Closes the connection. Unconfirmed messages are dropped: call `waitForConfirms()` first.
    public func close() {
        connection.close()
    }

    private static func connect(url: AMQPURL, topology: Topology?, options: PublisherOptions,
                                events: @escaping (QueueEvent) -> Void) throws -> AMQPConnection {
        let connection = try AMQPConnection(url: url, options: options.connection, events: events)
        try topology?.declare(on: connection)
        try connection.openChannel(channel)
        try connection.selectConfirms(channel: channel)
        return connection
    }

    private func send(_ message: OutgoingMessage) throws {
        unconfirmed[nextTag] = message
        nextTag += 1
        try connection.publish(message, channel: Self.channel)
    }

    /// Waits up to `timeout` for a frame, then handles it and all that are already there.
    private func readConfirms(timeout: TimeInterval) throws {
        var wait = timeout
        while let frame = try connection.nextFrame(timeout: wait) {
            wait = 0
            guard Int32(frame.frame_type) == AMQP_FRAME_METHOD else { continue }
            let method = frame.payload.method
            switch method.id {
            case AMQP_BASIC_ACK_METHOD:
                let ack = method.decoded.load(as: amqp_basic_ack_t.self)
                settle(ack.delivery_tag, multiple: ack.multiple != 0)
            case AMQP_BASIC_NACK_METHOD:
                // The broker could not store them (internal error): send them again.
                let nack = method.decoded.load(as: amqp_basic_nack_t.self)
                let nacked = settle(nack.delivery_tag, multiple: nack.multiple != 0)
                events(.republishing(count: nacked.count))
                for message in nacked { try send(message) }
            case AMQP_BASIC_RETURN_METHOD:
                // A basic.ack for the message follows; the return is reported by the next call.
                let rejection = method.decoded.load(as: amqp_basic_return_t.self)
                returned = returned ?? .unroutable(exchange: rejection.exchange.string, routingKey: rejection.routing_key.string,
                                                   code: rejection.reply_code, text: rejection.reply_text.string)
                try connection.discardReturnedContent(channel: frame.channel)
            default:
                break
            }
        }
    }

    @discardableResult
    private func settle(_ tag: UInt64, multiple: Bool) -> [OutgoingMessage] {
        guard multiple else { return unconfirmed.removeValue(forKey: tag).map { [$0] } ?? [] }
        return unconfirmed.keys.filter { $0 <= tag }.sorted().compactMap { unconfirmed.removeValue(forKey: $0) }
    }

    private func reportReturned() throws {
        if let error = returned {
            returned = nil
            throw error
        }
    }

    /// Runs `step`; if the connection died meanwhile, reconnects and publishes every unconfirmed
    /// message again, which completes whatever `step` was doing with them.
    private func recovering(_ step: () throws -> Void) throws {
        do {
            try step()
        } catch let error as AMQPError where error.isRecoverable {
            connection.close()
            let reconnector = Reconnector(url: url, policy: options.reconnect, events: events)
            _ = try reconnector.reconnect(after: error) {
                connection = try Self.connect(url: url, topology: topology, options: options, events: events)
                try republishUnconfirmed()
            }
        }
    }

    /// Renumbers the unconfirmed messages for the new channel, in their original order, before
    /// sending any, so that a failure halfway keeps all of them for the next attempt.
    private func republishUnconfirmed() throws {
        let pending = unconfirmed.sorted { $0.key < $1.key }.map(\.value)
        unconfirmed = Dictionary(uniqueKeysWithValues: pending.enumerated().map { (UInt64($0.offset + 1), $0.element) })
        nextTag = UInt64(pending.count + 1)
        guard !pending.isEmpty else { return }
        events(.republishing(count: pending.count))
        for message in pending {
            try connection.publish(message, channel: Self.channel)
        }
    }
}

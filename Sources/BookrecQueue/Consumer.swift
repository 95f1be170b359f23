import CRabbitMQ
import Foundation

public struct ConsumerOptions: Equatable, Sendable {
    /// Deliveries the broker sends ahead of acknowledgements (basic.qos).
    public var prefetch: UInt16
    public var retry: RetryPolicy
    /// The longest single wait for a delivery, so `shouldStop` is checked at least this often.
    public var pollInterval: TimeInterval
    public var connection: ConnectionOptions
    public var reconnect: ReconnectPolicy
    /// The largest body kept whole; of a larger one only an excerpt is (`Delivery.isExcerpt`).
    public var maxBodySize: Int

    public init(prefetch: UInt16 = 16, retry: RetryPolicy = .init(), pollInterval: TimeInterval = 0.2,
                connection: ConnectionOptions = .init(), reconnect: ReconnectPolicy = .init(),
                maxBodySize: Int = JobMessage.maxBodySize) {
        self.prefetch = prefetch
        self.retry = retry
        self.pollInterval = pollInterval
        self.connection = connection
        self.reconnect = reconnect
        self.maxBodySize = maxBodySize
    }
}

/// Consumes a work queue with manual acknowledgements: at-least-once delivery, so handlers must
/// be idempotent (a job may run again after a crash or a lost connection).
///
/// Outcomes:
/// - `.ack` acknowledges the delivery.
/// - `.deadLetter(reason)` publishes a copy to the dead-letter exchange with the headers
///   `x-bookrec-reason` and `x-bookrec-original-queue`, waits for the broker's confirm, then acks
///   the original. Of a body over `maxBodySize` the copy is the excerpt the consumer kept, with
///   `x-bookrec-body-size`. basic.reject would dead-letter without a copy, but cannot carry a reason. If
///   the consumer dies between the confirm and the ack, the job runs again and may be
///   dead-lettered twice, never lost.
/// - `.retry(error)` republishes the delivery with `x-bookrec-attempt` incremented to the delay
///   queue (see `Topology`) with the `RetryPolicy`'s backoff as TTL, confirmed, then acks it; once
///   the policy gives up, it dead-letters with "gave up after N attempts: <error>".
/// - `.requeue(reason)` hands the delivery back to its queue (basic.reject, requeue) for another
///   consumer.
///
/// Handlers run on a helper thread while this thread keeps reading the connection, so heartbeats
/// are answered and more deliveries buffered however long a job takes. A dead connection
/// (socket error, missed heartbeats, broker shutdown) is re-established with backoff and
/// consumption resumes; what was unacknowledged then is redelivered by the broker.
///
/// Not thread-safe: one consumer per thread (it owns its connections).
public final class Consumer {
    private static let channel: amqp_channel_t = 1

    public let url: AMQPURL
    public let topology: Topology
    private let options: ConsumerOptions
    private let events: (QueueEvent) -> Void
    private let handlerQueue = DispatchQueue(label: "bookrec.queue.handler")

    public init(url: AMQPURL, topology: Topology, options: ConsumerOptions = .init(),
                events: @escaping (QueueEvent) -> Void = QueueEvent.logToStandardError) {
        self.url = url
        self.topology = topology
        self.options = options
        self.events = events
    }

    /// Consumes `queue` until `shouldStop` returns true, which it checks between deliveries and
    /// at least every `pollInterval`; the delivery in hand is finished first. Deliveries buffered
    /// but not handled return to the queue when the connection closes.
    ///
    /// `handler` decides each delivery's `Outcome`. If it throws `PoisonMessage` the delivery is
    /// dead-lettered with that reason; any other error counts as transient (`.retry`).
    /// Throws when the first connection fails, when the broker refuses something (missing queue,
    /// cancelled consumer) or when reconnecting gives up.
    public func consume(queue: String, shouldStop: () -> Bool = { false },
                        handler: (Delivery) throws -> Outcome) throws {
        try withoutActuallyEscaping(handler) { handler in
            var connection = try startConsuming(queue)
            // Its own connection: confirms on the consuming channel would interleave with deliveries.
            let publisher = try Publisher(url: url, options: PublisherOptions(confirmWindow: 1, connection: options.connection,
                                                                              reconnect: options.reconnect), events: events)
            defer {
                connection.close()
                publisher.close()
            }
            var buffered: [Delivery] = []
            var nextPublisherPoll = Date()
            while !shouldStop() {
                do {
                    // Reading it keeps its heartbeats going, however long it has nothing to publish.
                    if Date() >= nextPublisherPoll {
                        try publisher.poll()
                        nextPublisherPoll = Date().addingTimeInterval(options.pollInterval)
                    }
                    let next = buffered.isEmpty ? try connection.nextDelivery(queue: queue, timeout: options.pollInterval, bodyLimit: options.maxBodySize)
                                                : buffered.removeFirst()
                    guard let delivery = next else { continue }
                    let outcome = try run(handler, on: delivery, reading: connection, into: &buffered, publisher: publisher)
                    try settle(delivery, outcome, connection: connection, publisher: publisher)
                } catch let error as AMQPError where error.isRecoverable {
                    // Buffered deliveries belong to the dead channel; the broker redelivers them.
                    buffered = []
                    connection.close()
                    let reconnector = Reconnector(url: url, policy: options.reconnect, events: events)
                    guard let restored = try reconnector.reconnect(after: error, shouldStop: shouldStop,
                                                                   connect: { try startConsuming(queue) }) else { return }
                    connection = restored
                }
            }
        }
    }

    private func startConsuming(_ queue: String) throws -> AMQPConnection {
        let connection = try AMQPConnection(url: url, options: options.connection, events: events)
        try topology.declare(on: connection)
        try connection.openChannel(Self.channel)
        try connection.setPrefetch(options.prefetch, channel: Self.channel)
        try connection.startConsuming(queue, channel: Self.channel)
        return connection
    }

    /// Runs the handler on the helper thread and meanwhile keeps both connections read.
    /// If the consuming connection dies meanwhile, waits for the handler and then throws: the
    /// delivery can no longer be acknowledged, and the broker will deliver it again.
    private func run(_ handler: @escaping (Delivery) throws -> Outcome, on delivery: Delivery,
                     reading connection: AMQPConnection, into buffered: inout [Delivery],
                     publisher: Publisher) throws -> Outcome {
        let finished = DispatchSemaphore(value: 0)
        // The block holds the slot, not the handler, and the handler leaves the slot before the
        // signal: once the semaphore is passed nothing holds the handler, which
        // `withoutActuallyEscaping` checks when `consume` returns (even while the dispatch queue
        // has not yet released the block).
        let result = HandlerSlot(handler)
        handlerQueue.async {
            result.outcome = Self.outcome(of: result.takeHandler(), for: delivery)
            finished.signal()
        }
        do {
            while finished.wait(timeout: .now() + options.pollInterval) == .timedOut {
                if let next = try connection.nextDelivery(queue: delivery.queue, timeout: 0, bodyLimit: options.maxBodySize) { buffered.append(next) }
                try publisher.poll()
            }
        } catch {
            finished.wait()
            throw error
        }
        return result.outcome
    }

    private static func outcome(of handler: (Delivery) throws -> Outcome, for delivery: Delivery) -> Outcome {
        do {
            return try handler(delivery)
        } catch let poison as PoisonMessage {
            return .deadLetter(reason: poison.description)
        } catch {
            return .retry(error: String(describing: error))
        }
    }

    private func settle(_ delivery: Delivery, _ outcome: Outcome, connection: AMQPConnection, publisher: Publisher) throws {
        switch outcome {
        case .ack:
            break
        case .requeue(let reason):
            events(.requeued(queue: delivery.queue, messageID: delivery.messageID, reason: reason))
            return try connection.requeue(delivery.deliveryTag, channel: Self.channel)
        case .deadLetter(let reason):
            try deadLetter(delivery, reason: reason, publisher: publisher)
        case .retry(let error):
            switch options.retry.decision(afterFailedAttempt: delivery.attempt, error: error) {
            case .retry(let attempt, let delay):
                events(.retryScheduled(queue: delivery.queue, messageID: delivery.messageID, attempt: attempt, delay: delay, error: error))
                // Routed by the work queue's name: that is where the delay queue sends it back.
                try publisher.publish(delivery.copy(
                    exchange: topology.retryExchange, routingKey: delivery.queue,
                    adding: [BookrecHeader.attempt: .int(Int64(attempt)), BookrecHeader.originalQueue: .string(delivery.queue)],
                    expirationMilliseconds: Int((delay * 1000).rounded())))
                try publisher.waitForConfirms()
            case .giveUp(let reason):
                try deadLetter(delivery, reason: reason, publisher: publisher)
            }
        }
        try connection.ack(delivery.deliveryTag, channel: Self.channel)
    }

    private func deadLetter(_ delivery: Delivery, reason: String, publisher: Publisher) throws {
        events(.deadLettered(queue: delivery.queue, messageID: delivery.messageID, reason: reason))
        try publisher.publish(delivery.copy(
            exchange: topology.deadLetterExchange, routingKey: delivery.queue,
            adding: [BookrecHeader.reason: .string(reason), BookrecHeader.originalQueue: .string(delivery.queue)]))
        try publisher.waitForConfirms()
    }
}

/// Hands the handler to the helper thread and its outcome back; the semaphore orders the writes
/// before the reads.
private final class HandlerSlot: @unchecked Sendable {
    private var handler: ((Delivery) throws -> Outcome)?
    var outcome = Outcome.ack

    init(_ handler: @escaping (Delivery) throws -> Outcome) { self.handler = handler }

    func takeHandler() -> (Delivery) throws -> Outcome {
        defer { handler = nil }
        return handler!
    }
}

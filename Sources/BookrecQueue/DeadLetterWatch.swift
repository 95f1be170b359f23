import CRabbitMQ
import Foundation

/// A copy of every message dead-lettered while the watch is open, through a private queue bound
/// to the dead-letter exchange (a fanout): the broker drops the queue when the connection closes,
/// and the dead-letter queue itself is left as it was.
///
/// The coordinator watches while it waits for a phase, so that a job a worker dead-lettered but
/// could not record in the store (a full disk) fails the run at once instead of leaving it
/// waiting. The store stays the record: while the broker is away the watch is closed and reopened
/// when it is back, and what was dead-lettered in between is not seen here.
/// Not thread-safe (it owns an `AMQPConnection`).
public final class DeadLetterWatch {
    private static let channel: amqp_channel_t = 1
    private static let reopenDelay: TimeInterval = 2
    private let url: AMQPURL
    private let topology: Topology
    private let events: (QueueEvent) -> Void
    private var connection: AMQPConnection?
    private var queue = ""
    private var nextOpening = Date.distantPast

    public init(url: AMQPURL, topology: Topology, events: @escaping (QueueEvent) -> Void = QueueEvent.logToStandardError) {
        self.url = url
        self.topology = topology
        self.events = events
    }

    deinit { close() }

    /// Starts watching, so that nothing dead-lettered after this call is missed (`arrived` opens
    /// the watch too, if it is not open). Throws only the broker's refusals.
    public func open() throws {
        try whileConnected { _ = try openIfDue() }
    }

    /// The dead letters that arrived since the last call, without waiting (excerpts of bodies
    /// over `JobMessage.maxBodySize`). Throws only the broker's refusals (`AMQPError.isRefusal`).
    public func arrived() throws -> [Delivery] {
        var letters: [Delivery] = []
        try whileConnected {
            guard let connection = try openIfDue() else { return }
            while let letter = try connection.nextDelivery(queue: queue, timeout: 0, bodyLimit: JobMessage.maxBodySize) {
                letters.append(letter)
            }
        }
        return letters
    }

    public func close() {
        connection?.close()
        connection = nil
    }

    /// Runs `body`; a lost or refused-for-now connection closes the watch until `reopenDelay` has
    /// passed, a refusal is thrown.
    private func whileConnected(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as AMQPError where !error.isRefusal {
            events(.connectionLost(endpoint: url.endpoint, error: "dead-letter watch: \(error)"))
            close()
            nextOpening = Date().addingTimeInterval(Self.reopenDelay)
        }
    }

    private func openIfDue() throws -> AMQPConnection? {
        if let connection { return connection }
        guard Date() >= nextOpening else { return nil }
        let opened = try AMQPConnection(url: url, events: events)
        try topology.declare(on: opened)
        try opened.openChannel(Self.channel)
        queue = try opened.declarePrivateQueue(channel: Self.channel)
        try opened.bindQueue(queue, exchange: topology.deadLetterExchange, channel: Self.channel)
        try opened.startConsuming(queue, acknowledging: false, channel: Self.channel)
        connection = opened
        return opened
    }
}

import Foundation

/// Things a connection, publisher or consumer reports while it carries on: for logs and for
/// a worker's state. None of them carries a password.
public enum QueueEvent: Sendable, CustomStringConvertible {
    case connected(endpoint: String)
    /// The broker stopped reading from this connection (memory or disk alarm): publishes stall.
    case blocked(endpoint: String, reason: String)
    case unblocked(endpoint: String)
    case connectionLost(endpoint: String, error: String)
    /// The first connection failed in a way a later one may not (the broker is down or restarting).
    case unreachable(endpoint: String, error: String)
    case reconnecting(endpoint: String, attempt: Int, maxAttempts: Int?, delay: TimeInterval)
    /// Messages sent but not confirmed before the connection died, or nacked, are sent again.
    case republishing(count: Int)
    case retryScheduled(queue: String, messageID: String?, attempt: Int, delay: TimeInterval, error: String)
    case deadLettered(queue: String, messageID: String?, reason: String)
    case requeued(queue: String, messageID: String?, reason: String)

    public var description: String {
        switch self {
        case .connected(let endpoint):
            return "amqp: connected to \(endpoint)"
        case .blocked(let endpoint, let reason):
            return "amqp: broker at \(endpoint) blocked publishing: \(reason)"
        case .unblocked(let endpoint):
            return "amqp: broker at \(endpoint) unblocked publishing"
        case .connectionLost(let endpoint, let error):
            return "amqp: connection to \(endpoint) lost: \(error)"
        case .unreachable(let endpoint, let error):
            return "amqp: broker at \(endpoint) not reachable: \(error); waiting for it"
        case .reconnecting(let endpoint, let attempt, let maxAttempts, let delay):
            return "amqp: reconnecting to \(endpoint) in \(String(format: "%.1f", delay)) s (attempt \(attempt)\(maxAttempts.map { " of \($0)" } ?? ""))"
        case .republishing(let count):
            return "amqp: republishing \(count) unconfirmed message(s)"
        case .retryScheduled(let queue, let messageID, let attempt, let delay, let error):
            return "amqp: \(queue) message \(messageID ?? "-") failed (\(error)); attempt \(attempt) in \(String(format: "%.1f", delay)) s"
        case .deadLettered(let queue, let messageID, let reason):
            return "amqp: \(queue) message \(messageID ?? "-") dead-lettered: \(reason)"
        case .requeued(let queue, let messageID, let reason):
            return "amqp: \(queue) message \(messageID ?? "-") handed back to the queue: \(reason)"
        }
    }

    /// The default sink: one line per event on standard error.
    public static let logToStandardError: @Sendable (QueueEvent) -> Void = { event in
        FileHandle.standardError.write(Data((event.description + "\n").utf8))
    }
}

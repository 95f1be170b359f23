import CRabbitMQ

/// A failure of the AMQP transport or a refusal by the broker, naming the operation that failed.
public enum AMQPError: Error, Equatable, CustomStringConvertible {
    /// rabbitmq-c reported an error: socket, timeout, missed heartbeats, protocol.
    case library(operation: String, status: Int32, message: String)
    /// The broker closed the whole connection (e.g. 320 CONNECTION_FORCED when it shuts down).
    case connectionClosed(operation: String, code: UInt16, text: String)
    /// The broker closed the channel (e.g. 404 NOT_FOUND, 406 PRECONDITION_FAILED): the request was wrong.
    case channelClosed(operation: String, code: UInt16, text: String)
    /// The broker cancelled our consumer, typically because its queue was deleted.
    case consumerCancelled(queue: String)
    /// A mandatory message matched no queue (missing queue or binding).
    case unroutable(exchange: String, routingKey: String, code: UInt16, text: String)
    case gaveUpReconnecting(endpoint: String, attempts: Int, lastError: String)

    /// Whether a new connection may succeed where this one failed: the transport or the broker
    /// went away. Refusals (missing queue, mismatched arguments, bad credentials) are not.
    public var isRecoverable: Bool {
        switch self {
        case .library(_, let status, _):
            // A failed name lookup counts as recoverable: a restarting broker container's name can
            // vanish for a while. A typo is retried too, but every attempt is logged with host:port.
            // TLS failures (a certificate that does not verify, a handshake the broker refuses,
            // an unreadable certificate file) are configuration, not weather.
            return ![AMQP_STATUS_BAD_URL, AMQP_STATUS_INVALID_PARAMETER, AMQP_STATUS_SSL_ERROR, AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED,
                     AMQP_STATUS_SSL_PEER_VERIFY_FAILED, AMQP_STATUS_SSL_CONNECTION_FAILED].map(\.rawValue).contains(status)
        case .connectionClosed(_, let code, _):
            return [AMQP_CONNECTION_FORCED, AMQP_INTERNAL_ERROR, AMQP_FRAME_ERROR].map(UInt16.init).contains(code)
        case .channelClosed, .consumerCancelled, .unroutable, .gaveUpReconnecting:
            return false
        }
    }

    /// Whether the broker refused what this client asked for, so that waiting and trying again
    /// cannot help: bad credentials (403), a missing vhost (530), a queue that exists with other
    /// arguments (406), a malformed URL. A cancelled consumer is not one (its queue is declared
    /// again on reconnecting).
    public var isRefusal: Bool {
        switch self {
        case .library, .connectionClosed: return !isRecoverable
        case .channelClosed: return true
        case .consumerCancelled, .unroutable, .gaveUpReconnecting: return false
        }
    }

    public var description: String {
        switch self {
        case .library(let operation, let status, let message):
            return "\(operation): \(message) (rabbitmq-c status \(status))"
        case .connectionClosed(let operation, let code, let text):
            return "\(operation): broker closed the connection: \(code) \(text)"
        case .channelClosed(let operation, let code, let text):
            return "\(operation): broker closed the channel: \(code) \(text)"
        case .consumerCancelled(let queue):
            return "the broker cancelled the consumer of \(queue) (was the queue deleted?)"
        case .unroutable(let exchange, let routingKey, let code, let text):
            return "message to exchange '\(exchange)' with routing key '\(routingKey)' was returned: \(code) \(text)"
        case .gaveUpReconnecting(let endpoint, let attempts, let lastError):
            return "gave up reconnecting to \(endpoint) after \(attempts) attempts; last error: \(lastError)"
        }
    }

    static func library(_ operation: String, status: Int32) -> AMQPError {
        .library(operation: operation, status: status, message: String(cString: amqp_error_string2(status)))
    }
}

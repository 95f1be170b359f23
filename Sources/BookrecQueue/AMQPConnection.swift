import CRabbitMQ
import Foundation

public struct ConnectionOptions: Equatable, Sendable {
    /// Seconds between heartbeats, negotiated at login. rabbitmq-c sends and checks them only while
    /// it reads, so whoever owns the connection must read (with a timeout) more often than this.
    public var heartbeat: Int
    public var connectTimeout: TimeInterval
    public var frameMax: Int

    public init(heartbeat: Int = 30, connectTimeout: TimeInterval = 5, frameMax: Int = 131_072) {
        self.heartbeat = heartbeat
        self.connectTimeout = connectTimeout
        self.frameMax = frameMax
    }
}

/// One AMQP 0-9-1 connection to the broker, over rabbitmq-c.
///
/// Not thread-safe: rabbitmq-c's connection state has no locking, so use an instance from one
/// thread only and give each thread its own connection. Publisher, Consumer and QueueInspector
/// each own one.
public final class AMQPConnection {
    public let url: AMQPURL
    let state: amqp_connection_state_t
    private let events: (QueueEvent) -> Void
    /// False once the socket failed or the broker closed the connection: closing then skips the handshake.
    public internal(set) var isOpen = false
    /// Whether the broker has blocked publishing on this connection (connection.blocked).
    public private(set) var isBlocked = false

    /// Opens the TCP socket (within `options.connectTimeout`) and logs in.
    public convenience init(url: AMQPURL, options: ConnectionOptions = .init(),
                            events: @escaping (QueueEvent) -> Void = QueueEvent.logToStandardError) throws {
        guard let state = amqp_new_connection() else {
            throw AMQPError.library("creating a connection", status: AMQP_STATUS_NO_MEMORY.rawValue)
        }
        // From here on, deinit destroys `state` whatever fails.
        self.init(state: state, url: url, events: events)
        try open(options)
        events(.connected(endpoint: url.endpoint))
    }

    private init(state: amqp_connection_state_t, url: AMQPURL, events: @escaping (QueueEvent) -> Void) {
        self.state = state
        self.url = url
        self.events = events
    }

    deinit {
        close()
        amqp_destroy_connection(state)
    }

    private func open(_ options: ConnectionOptions) throws {
        let socket = try url.tls.map(tlsSocket) ?? amqp_tcp_socket_new(state)
        guard let socket else {
            throw AMQPError.library("creating a socket", status: AMQP_STATUS_NO_MEMORY.rawValue)
        }
        var timeout = timeval(seconds: options.connectTimeout)
        let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            // rabbitmq-c says only "a socket error occurred" (and leaves errno unrelated): say what it means here.
            if status == AMQP_STATUS_SOCKET_ERROR.rawValue {
                throw AMQPError.library(operation: "connecting to \(url.endpoint)", status: status,
                                        message: "no TCP connection (is the broker running there?)")
            }
            throw AMQPError.library("connecting \(url.tls == nil ? "" : "over TLS ")to \(url.endpoint)", status: status)
        }
        amqp_set_handshake_timeout(state, &timeout)
        isOpen = true
        let reply = bookrec_amqp_login(state, url.vhost, 0, Int32(options.frameMax), Int32(options.heartbeat),
                                       url.user, url.password)
        try check(reply, "logging in to \(url.endpoint) vhost '\(url.vhost)' as '\(url.user)'", channel: 0)
    }

    /// A TLS socket set up from the URL's settings.
    private func tlsSocket(_ tls: AMQPURL.TLS) throws -> OpaquePointer? {
        guard let socket = amqp_ssl_socket_new(state) else { return nil }
        amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
        amqp_ssl_socket_set_verify_hostname(socket, tls.verifyPeer ? 1 : 0)
        if let file = tls.caCertificateFile {
            let status = amqp_ssl_socket_set_cacert(socket, file)
            guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError.library("reading the CA certificate \(file) (cacertfile)", status: status) }
        }
        if let certificate = tls.certificateFile, let key = tls.keyFile {
            let status = amqp_ssl_socket_set_key(socket, certificate, key)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError.library("reading the client certificate \(certificate) and key \(key)", status: status)
            }
        }
        return socket
    }

    /// Closes the connection politely (the broker then requeues unacknowledged deliveries).
    /// Safe to call more than once and on a broken connection.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
    }

    // MARK: Reading frames

    /// The next frame for the caller, waiting at most `timeout` seconds; nil if none came.
    ///
    /// Connection-level frames are handled here: connection.blocked/unblocked become events,
    /// and a connection.close or channel.close from the broker is answered and thrown.
    /// The frame's contents live in rabbitmq-c's buffers: use them before reading again.
    func nextFrame(timeout: TimeInterval) throws -> amqp_frame_t? {
        amqp_maybe_release_buffers(state)
        var frame = amqp_frame_t()
        while true {
            var wait = timeval(seconds: timeout)
            let status = amqp_simple_wait_frame_noblock(state, &frame, &wait)
            if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
            guard status == AMQP_STATUS_OK.rawValue else {
                isOpen = false
                throw AMQPError.library("reading from \(url.endpoint)", status: status)
            }
            guard Int32(frame.frame_type) == AMQP_FRAME_METHOD else { return frame }
            switch frame.payload.method.id {
            case AMQP_CONNECTION_BLOCKED_METHOD:
                let blocked = frame.payload.method.decoded.load(as: amqp_connection_blocked_t.self)
                isBlocked = true
                events(.blocked(endpoint: url.endpoint, reason: blocked.reason.string))
            case AMQP_CONNECTION_UNBLOCKED_METHOD:
                isBlocked = false
                events(.unblocked(endpoint: url.endpoint))
            case AMQP_CONNECTION_CLOSE_METHOD, AMQP_CHANNEL_CLOSE_METHOD:
                throw acceptClose(frame.payload.method, channel: frame.channel, operation: "reading from \(url.endpoint)")
            default:
                return frame
            }
        }
    }

    // MARK: Errors

    /// Turns an RPC reply into a thrown error naming `operation`.
    func check(_ reply: amqp_rpc_reply_t, _ operation: @autoclosure () -> String, channel: amqp_channel_t) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            throw acceptClose(reply.reply, channel: channel, operation: operation())
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            // rabbitmq-c leaves a connection unusable after a failed RPC (socket, timeout, heartbeat).
            isOpen = false
            throw AMQPError.library(operation(), status: reply.library_error)
        default:
            isOpen = false
            throw AMQPError.library(operation(), status: AMQP_STATUS_UNEXPECTED_STATE.rawValue)
        }
    }

    /// Throws for a non-zero rabbitmq-c status (from calls that are not RPCs, e.g. publish, ack).
    func check(status: Int32, _ operation: @autoclosure () -> String) throws {
        guard status != AMQP_STATUS_OK.rawValue else { return }
        isOpen = false
        throw AMQPError.library(operation(), status: status)
    }

    /// Answers the broker's connection.close or channel.close with the close-ok it waits for,
    /// and describes it as an error.
    private func acceptClose(_ method: amqp_method_t, channel: amqp_channel_t, operation: String) -> AMQPError {
        switch method.id {
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.load(as: amqp_connection_close_t.self)
            var ok = amqp_connection_close_ok_t()
            _ = amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
            isOpen = false
            return .connectionClosed(operation: operation, code: close.reply_code, text: close.reply_text.string)
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = method.decoded.load(as: amqp_channel_close_t.self)
            var ok = amqp_channel_close_ok_t()
            _ = amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
            return .channelClosed(operation: operation, code: close.reply_code, text: close.reply_text.string)
        default:
            isOpen = false
            let name = String(cString: amqp_method_name(method.id))
            return .library(operation: operation, status: AMQP_STATUS_UNEXPECTED_STATE.rawValue,
                            message: "unexpected method \(name) from the broker")
        }
    }
}

extension timeval {
    init(seconds: TimeInterval) {
        let whole = max(seconds, 0).rounded(.down)
        self.init(tv_sec: Int(whole), tv_usec: Int((max(seconds, 0) - whole) * 1_000_000))
    }
}

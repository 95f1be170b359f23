import CRabbitMQ
import Foundation

/// The AMQP methods bookrec uses, each checked and named in its error.
extension AMQPConnection {
    func openChannel(_ channel: amqp_channel_t) throws {
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), "opening channel \(channel) on \(url.endpoint)", channel: channel)
    }

    func closeChannel(_ channel: amqp_channel_t) throws {
        try check(amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS), "closing channel \(channel)", channel: channel)
    }

    func declareExchange(_ name: String, type: String, channel: amqp_channel_t) throws {
        let arena = CArena()
        amqp_exchange_declare(state, channel, arena.bytes(name), arena.bytes(type), 0, 1, 0, 0, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "declaring exchange \(name)", channel: channel)
    }

    func deleteExchange(_ name: String, channel: amqp_channel_t) throws {
        let arena = CArena()
        amqp_exchange_delete(state, channel, arena.bytes(name), 0)
        try check(amqp_get_rpc_reply(state), "deleting exchange \(name)", channel: channel)
    }

    /// Declares a durable queue; with `passive`, only checks that it exists (404 otherwise).
    /// Returns its ready message count and consumer count.
    @discardableResult
    func declareQueue(_ name: String, arguments: [String: HeaderValue] = [:], passive: Bool = false,
                      channel: amqp_channel_t) throws -> (messages: Int, consumers: Int) {
        let arena = CArena()
        let ok = amqp_queue_declare(state, channel, arena.bytes(name), passive ? 1 : 0, 1, 0, 0, arena.table(arguments))
        try check(amqp_get_rpc_reply(state), "declaring queue \(name)", channel: channel)
        guard let ok else { return (0, 0) }
        return (Int(ok.pointee.message_count), Int(ok.pointee.consumer_count))
    }

    func bindQueue(_ queue: String, exchange: String, routingKey: String = "", channel: amqp_channel_t) throws {
        let arena = CArena()
        amqp_queue_bind(state, channel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey), amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "binding queue \(queue) to exchange \(exchange)", channel: channel)
    }

    func deleteQueue(_ name: String, channel: amqp_channel_t) throws {
        let arena = CArena()
        amqp_queue_delete(state, channel, arena.bytes(name), 0, 0)
        try check(amqp_get_rpc_reply(state), "deleting queue \(name)", channel: channel)
    }

    /// Puts the channel in publisher-confirm mode: the broker acks (or nacks) every publish,
    /// numbering them 1, 2, 3... on this channel.
    func selectConfirms(channel: amqp_channel_t) throws {
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "enabling publisher confirms", channel: channel)
    }

    func setPrefetch(_ count: UInt16, channel: amqp_channel_t) throws {
        amqp_basic_qos(state, channel, 0, count, 0)
        try check(amqp_get_rpc_reply(state), "setting prefetch \(count)", channel: channel)
    }

    /// Starts a consumer on `queue`; deliveries then arrive through `nextDelivery`. With
    /// `acknowledging` false the broker counts a delivery as handled once sent (no-ack).
    func startConsuming(_ queue: String, acknowledging: Bool = true, channel: amqp_channel_t) throws {
        let arena = CArena()
        amqp_basic_consume(state, channel, arena.bytes(queue), amqp_empty_bytes, 0, acknowledging ? 0 : 1, 0, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "consuming from queue \(queue)", channel: channel)
    }

    /// Declares a queue of this connection only, named by the broker (exclusive, auto-delete: it
    /// goes when the connection does). Returns its name.
    func declarePrivateQueue(channel: amqp_channel_t) throws -> String {
        let ok = amqp_queue_declare(state, channel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "declaring a private queue", channel: channel)
        guard let ok else { throw AMQPError.library("declaring a private queue", status: AMQP_STATUS_UNEXPECTED_STATE.rawValue) }
        return ok.pointee.queue.string
    }

    /// Publishes persistently and mandatory. Does not wait for the broker's confirm.
    func publish(_ message: OutgoingMessage, channel: amqp_channel_t) throws {
        let arena = CArena()
        var properties = amqp_basic_properties_t()
        properties._flags = amqp_flags_t(AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG)
        properties.content_type = arena.bytes(message.contentType)
        properties.delivery_mode = UInt8(AMQP_DELIVERY_PERSISTENT.rawValue)
        if let messageID = message.messageID {
            properties._flags |= amqp_flags_t(AMQP_BASIC_MESSAGE_ID_FLAG)
            properties.message_id = arena.bytes(messageID)
        }
        if !message.headers.isEmpty {
            properties._flags |= amqp_flags_t(AMQP_BASIC_HEADERS_FLAG)
            properties.headers = arena.table(message.headers)
        }
        if let expiration = message.expirationMilliseconds {
            properties._flags |= amqp_flags_t(AMQP_BASIC_EXPIRATION_FLAG)
            properties.expiration = arena.bytes(String(max(expiration, 0)))
        }
        let exchange = arena.bytes(message.exchange)
        let routingKey = arena.bytes(message.routingKey)
        let status = message.body.withUnsafeBytes { body in
            amqp_basic_publish(state, channel, exchange, routingKey, 1, 0, &properties,
                               amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
        try check(status: status, "publishing to exchange '\(message.exchange)' routing key '\(message.routingKey)'")
    }

    func ack(_ deliveryTag: UInt64, channel: amqp_channel_t) throws {
        try check(status: amqp_basic_ack(state, channel, deliveryTag, 0), "acknowledging delivery \(deliveryTag)")
    }

    /// Hands a delivery back to its queue, for another consumer.
    func requeue(_ deliveryTag: UInt64, channel: amqp_channel_t) throws {
        try check(status: amqp_basic_reject(state, channel, deliveryTag, 1), "requeueing delivery \(deliveryTag)")
    }

    /// The next delivery to this connection's consumer, waiting at most `timeout` seconds; nil if
    /// none came (or another frame came first). `queue` only labels the delivery and errors.
    ///
    /// The body is read frame by frame (each at most the negotiated frame size). A body larger
    /// than `bodyLimit` is not kept: its first `Delivery.excerptLength` bytes are, and the rest is
    /// read and dropped as it arrives, so an oversize message costs no more memory than a small one.
    func nextDelivery(queue: String, timeout: TimeInterval, bodyLimit: Int) throws -> Delivery? {
        guard let frame = try nextFrame(timeout: timeout), Int32(frame.frame_type) == AMQP_FRAME_METHOD else { return nil }
        switch frame.payload.method.id {
        case AMQP_BASIC_DELIVER_METHOD:
            break
        case AMQP_BASIC_CANCEL_METHOD:
            throw AMQPError.consumerCancelled(queue: queue)
        default:
            return nil
        }
        let deliver = frame.payload.method.decoded.load(as: amqp_basic_deliver_t.self)
        let channel = frame.channel
        let tag = deliver.delivery_tag
        let redelivered = deliver.redelivered != 0, exchange = deliver.exchange.string, routingKey = deliver.routing_key.string

        let header = try contentFrame(AMQP_FRAME_HEADER, channel: channel, "reading the header of delivery \(tag) from \(queue)")
        let size = Int(clamping: header.payload.properties.body_size)
        let properties = header.payload.properties.decoded.load(as: amqp_basic_properties_t.self)
        var delivery = Delivery(properties: properties, queue: queue, deliveryTag: tag, redelivered: redelivered,
                                exchange: exchange, routingKey: routingKey, body: Data(), bodySize: size)
        let kept = size <= bodyLimit ? size : min(size, Delivery.excerptLength)
        delivery.body.reserveCapacity(kept)
        var received = 0
        while received < size {
            // Reading the next frame releases this one's buffer: the body never accumulates in rabbitmq-c.
            let fragment = try contentFrame(AMQP_FRAME_BODY, channel: channel, "reading the body of delivery \(tag) from \(queue)")
                .payload.body_fragment
            let wanted = min(fragment.len, kept - delivery.body.count)
            if wanted > 0 { delivery.body.append(fragment.bytes.assumingMemoryBound(to: UInt8.self), count: wanted) }
            received += fragment.len
        }
        return delivery
    }

    /// The next frame of a delivery's content (its header or a body frame), which the broker sends
    /// right after the basic.deliver; anything else there breaks the protocol.
    private func contentFrame(_ type: Int32, channel: amqp_channel_t, _ operation: @autoclosure () -> String) throws -> amqp_frame_t {
        guard let frame = try nextFrame(timeout: Self.contentTimeout), frame.channel == channel, Int32(frame.frame_type) == type else {
            isOpen = false
            throw AMQPError.library(operation(), status: AMQP_STATUS_UNEXPECTED_STATE.rawValue)
        }
        return frame
    }

    /// How long the rest of a delivery's content may take to arrive once its basic.deliver has.
    private static let contentTimeout: TimeInterval = 30

    /// Fetches one message without acknowledging it (basic.get); nil when the queue is empty.
    func get(_ queue: String, channel: amqp_channel_t) throws -> Delivery? {
        amqp_maybe_release_buffers(state)
        let arena = CArena()
        let reply = amqp_basic_get(state, channel, arena.bytes(queue), 0)
        try check(reply, "getting a message from \(queue)", channel: channel)
        guard reply.reply.id == AMQP_BASIC_GET_OK_METHOD else { return nil }
        let getOK = reply.reply.decoded.load(as: amqp_basic_get_ok_t.self)
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), "reading a message from \(queue)", channel: channel)
        defer { amqp_destroy_message(&message) }
        return Delivery(message: message, queue: queue, deliveryTag: getOK.delivery_tag,
                        redelivered: getOK.redelivered != 0, exchange: getOK.exchange.string,
                        routingKey: getOK.routing_key.string)
    }

    /// Reads and discards the content of a basic.return (its header and body frames follow it).
    func discardReturnedContent(channel: amqp_channel_t) throws {
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), "reading a returned message", channel: channel)
        amqp_destroy_message(&message)
    }
}

extension Delivery {
    init(message: amqp_message_t, queue: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String) {
        self.init(properties: message.properties, queue: queue, deliveryTag: deliveryTag, redelivered: redelivered,
                  exchange: exchange, routingKey: routingKey, body: message.body.data, bodySize: message.body.len)
    }

    init(properties: amqp_basic_properties_t, queue: String, deliveryTag: UInt64, redelivered: Bool, exchange: String,
         routingKey: String, body: Data, bodySize: Int) {
        func has(_ flag: Int32) -> Bool { properties._flags & amqp_flags_t(flag) != 0 }
        self.init(queue: queue, deliveryTag: deliveryTag, redelivered: redelivered, exchange: exchange,
                  routingKey: routingKey, body: body, bodySize: bodySize,
                  contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? properties.content_type.string : nil,
                  messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? properties.message_id.string : nil,
                  headers: has(AMQP_BASIC_HEADERS_FLAG) ? properties.headers.headerValues : [:])
    }
}

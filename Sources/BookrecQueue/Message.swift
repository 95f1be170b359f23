import Foundation

/// Header names bookrec adds to messages.
public enum BookrecHeader {
    /// Which delivery of the job this is, from 1; absent means 1.
    public static let attempt = "x-bookrec-attempt"
    /// Why the message was dead-lettered.
    public static let reason = "x-bookrec-reason"
    /// The work queue a dead-lettered or delayed message came from.
    public static let originalQueue = "x-bookrec-original-queue"
    /// On a dead-lettered excerpt of an oversize message: the size of the whole body in bytes.
    public static let bodySize = "x-bookrec-body-size"
}

/// A message to publish. Always persistent (delivery mode 2) and published as mandatory, so a
/// missing queue is an error rather than a silent drop.
public struct OutgoingMessage: Equatable, Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: Data
    public var contentType: String
    public var messageID: String?
    public var headers: [String: HeaderValue]
    /// Per-message TTL in milliseconds; the retry delay queue uses it.
    public var expirationMilliseconds: Int?

    public init(exchange: String = "", routingKey: String, body: Data, contentType: String = "application/json",
                messageID: String? = nil, headers: [String: HeaderValue] = [:], expirationMilliseconds: Int? = nil) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.contentType = contentType
        self.messageID = messageID
        self.headers = headers
        self.expirationMilliseconds = expirationMilliseconds
    }
}

/// A message received from a queue, copied out of rabbitmq-c's buffers.
public struct Delivery: Equatable, Sendable {
    public var queue: String
    public var deliveryTag: UInt64
    /// Set by the broker when the message was delivered before without being acknowledged.
    public var redelivered: Bool
    public var exchange: String
    public var routingKey: String
    /// The whole body, or, when it was larger than the consumer keeps, its first `excerptLength` bytes.
    public var body: Data
    /// The size of the whole body as the broker announced it.
    public var bodySize: Int
    public var contentType: String?
    public var messageID: String?
    public var headers: [String: HeaderValue]

    /// How much of a body larger than the consumer's limit is kept, to say what it was.
    public static let excerptLength = 4096

    /// Whether `body` is only the start of a body too large to keep.
    public var isExcerpt: Bool { body.count < bodySize }

    public init(queue: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, body: Data,
                bodySize: Int? = nil, contentType: String?, messageID: String?, headers: [String: HeaderValue]) {
        self.queue = queue
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.bodySize = bodySize ?? body.count
        self.contentType = contentType
        self.messageID = messageID
        self.headers = headers
    }

    /// Which delivery of the job this is, from the `x-bookrec-attempt` header (1 if absent).
    public var attempt: Int { headers[BookrecHeader.attempt]?.intValue.map(Int.init) ?? 1 }

    /// The same message, to publish elsewhere with extra headers (the delivery's own headers kept;
    /// an excerpt also says the whole body's size).
    func copy(exchange: String, routingKey: String, adding extraHeaders: [String: HeaderValue],
              expirationMilliseconds: Int? = nil) -> OutgoingMessage {
        OutgoingMessage(exchange: exchange, routingKey: routingKey, body: body,
                        contentType: contentType ?? "application/json", messageID: messageID,
                        headers: headers.merging(extraHeaders) { _, new in new }
                            .merging(isExcerpt ? [BookrecHeader.bodySize: .int(Int64(bodySize))] : [:]) { _, new in new },
                        expirationMilliseconds: expirationMilliseconds)
    }
}

/// What a handler decided about a delivery.
public enum Outcome: Equatable, Sendable {
    /// Done: acknowledge it.
    case ack
    /// It can never succeed (poison): move it to the dead-letter queue with this reason.
    case deadLetter(reason: String)
    /// This consumer cannot run it, another may (a file missing here): hand it back to the queue
    /// as it was (basic.reject with requeue), uncounted as an attempt.
    case requeue(reason: String)
    /// It failed for a reason that may pass (store busy, resource missing for now): deliver it
    /// again later under the consumer's `RetryPolicy`, then dead-letter it.
    case retry(error: String)
}

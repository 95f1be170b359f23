import Foundation

/// What to do with a job whose handler failed transiently: try again later or give up.
/// A plain value, so the schedule is tested without a broker.
public struct RetryPolicy: Equatable, Sendable {
    public enum Decision: Equatable, Sendable {
        /// Deliver the job again as attempt `attempt` after `delay` seconds.
        case retry(attempt: Int, delay: TimeInterval)
        /// Dead-letter the job with this reason.
        case giveUp(reason: String)
    }

    /// Deliveries in total, the first one included.
    public var maxAttempts: Int
    public var backoff: Backoff

    public init(maxAttempts: Int = 5, backoff: Backoff = Backoff(initial: 1, multiplier: 4, maximum: 300)) {
        precondition(maxAttempts >= 1, "maxAttempts counts the first delivery, so it is at least 1")
        self.maxAttempts = maxAttempts
        self.backoff = backoff
    }

    /// The decision after delivery number `attempt` (from 1) failed with `error`.
    public func decision(afterFailedAttempt attempt: Int, error: String) -> Decision {
        guard attempt < maxAttempts else {
            return .giveUp(reason: "gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(error)")
        }
        return .retry(attempt: attempt + 1, delay: backoff.delay(afterAttempt: attempt))
    }
}

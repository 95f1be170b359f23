import Foundation

/// Exponential backoff: `initial`, then times `multiplier` per attempt, never above `maximum`.
/// Deterministic (no jitter) so that schedules are easy to test and to read in logs.
public struct Backoff: Equatable, Sendable {
    public var initial: TimeInterval
    public var multiplier: Double
    public var maximum: TimeInterval

    public init(initial: TimeInterval, multiplier: Double = 2, maximum: TimeInterval) {
        precondition(initial >= 0 && multiplier >= 1 && maximum >= initial, "Backoff needs 0 <= initial <= maximum and multiplier >= 1")
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
    }

    /// The wait before the next try once `attempt` tries (counted from 1) have failed.
    public func delay(afterAttempt attempt: Int) -> TimeInterval {
        let exponent = Double(max(attempt, 1) - 1)
        return min(initial * pow(multiplier, exponent), maximum)
    }
}

/// How long to keep re-establishing a connection that died, before giving up with an error.
public struct ReconnectPolicy: Equatable, Sendable {
    public var backoff: Backoff
    /// Attempts before giving up; nil keeps trying until the broker is back.
    public var maxAttempts: Int?

    /// The default rides out a broker restart (typically 5–20 s) with room to spare: about 3 minutes.
    public init(backoff: Backoff = Backoff(initial: 0.2, maximum: 5), maxAttempts: Int? = 40) {
        self.backoff = backoff
        self.maxAttempts = maxAttempts
    }

    /// For a process whose only job is this connection (the coordinator): wait as long as it takes.
    public static let untilBack = ReconnectPolicy(maxAttempts: nil)
}

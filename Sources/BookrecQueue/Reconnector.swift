import Foundation

/// Re-establishes a connection that died, waiting per `ReconnectPolicy` between attempts and
/// logging each attempt with host:port (never the password).
struct Reconnector {
    let url: AMQPURL
    let policy: ReconnectPolicy
    let events: (QueueEvent) -> Void

    /// Calls `connect` until it succeeds and returns its result; nil if `shouldStop` turned true
    /// meanwhile. Refusals that a new connection cannot fix (see `AMQPError.isRecoverable`) are
    /// thrown at once, and so is `gaveUpReconnecting` after the last attempt. `neverConnected`
    /// reports the broker as unreachable rather than the connection as lost.
    func reconnect<T>(after error: AMQPError, neverConnected: Bool = false, shouldStop: () -> Bool = { false },
                      connect: () throws -> T) throws -> T? {
        events(neverConnected ? .unreachable(endpoint: url.endpoint, error: error.description)
                              : .connectionLost(endpoint: url.endpoint, error: error.description))
        var lastError = error
        var attempt = 0
        while policy.maxAttempts.map({ attempt < max($0, 1) }) ?? true {
            attempt += 1
            let delay = policy.backoff.delay(afterAttempt: attempt)
            events(.reconnecting(endpoint: url.endpoint, attempt: attempt, maxAttempts: policy.maxAttempts, delay: delay))
            guard sleep(delay, unless: shouldStop) else { return nil }
            do {
                return try connect()
            } catch let error as AMQPError where error.isRecoverable {
                lastError = error
            }
        }
        throw AMQPError.gaveUpReconnecting(endpoint: url.endpoint, attempts: attempt, lastError: lastError.description)
    }

    /// Sleeps in short slices so that a stop request is noticed; false if it came.
    private func sleep(_ seconds: TimeInterval, unless shouldStop: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if shouldStop() { return false }
            Thread.sleep(forTimeInterval: min(0.1, deadline.timeIntervalSinceNow))
        }
        return !shouldStop()
    }
}

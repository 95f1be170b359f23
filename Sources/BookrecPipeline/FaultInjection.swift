import Foundation

/// Test hook for the kill -9 tests: `BOOKREC_FAULT_AFTER=<point>:<n>` in a worker's environment
/// makes it kill itself with SIGKILL the n-th time it reaches `point`, so a test can crash a
/// worker at an exact moment instead of sleeping and hoping. The points, per job kind (`encode.`
/// or `score.`): `received` (message parsed, nothing written), `running` (shard marked running),
/// `before-commit` (results computed, not written), `after-commit` (results committed, message
/// not yet acknowledged). Read once; when the variable is unset, `reached` returns at once.
enum FaultInjection {
    private static let plan: (point: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["BOOKREC_FAULT_AFTER"],
              let colon = value.lastIndex(of: ":"), let count = Int(value[value.index(after: colon)...]), count >= 1
        else { return nil }
        return (String(value[..<colon]), count)
    }()
    private static let counter = Counter()

    static func reached(_ point: String) {
        guard let plan, plan.point == point, counter.increment() == plan.count else { return }
        raise(SIGKILL)
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0

        func increment() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}

import Foundation

/// Test hook for the fault tests: `BOOKREC_FAULT_AFTER=<point>:<n>` in a worker's environment
/// makes it kill itself with SIGKILL the n-th time it reaches `point`, so a test can crash a
/// worker at an exact moment instead of sleeping and hoping; `<point>:<n>:stop` sends SIGSTOP
/// instead, freezing it there until the test sends SIGCONT (to cut the broker under a job in hand).
/// The points, per job kind (`encode.` or `score.`): `received` (message parsed, nothing written),
/// `running` (shard marked running), `before-commit` (results computed, not written),
/// `after-commit` (results committed, message not yet acknowledged).
/// Read once; when the variable is unset, `reached` returns after one nil check.
enum FaultInjection {
    private static let plan: (point: String, count: Int, signal: Int32)? = {
        let parts = ProcessInfo.processInfo.environment["BOOKREC_FAULT_AFTER"]?.split(separator: ":") ?? []
        guard parts.count == 2 || (parts.count == 3 && parts[2] == "stop"), let count = Int(parts[1]), count >= 1 else { return nil }
        return (String(parts[0]), count, parts.count == 3 ? SIGSTOP : SIGKILL)
    }()
    private static let counter = Counter()

    /// Called as the worker passes `point` of a job of `kind` ("encode" or "score").
    static func reached(_ kind: String, _ point: String) {
        guard let plan, plan.point == "\(kind).\(point)", counter.increment() == plan.count else { return }
        raise(plan.signal)
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

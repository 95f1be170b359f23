import BookrecQueue
import XCTest

final class RetryPolicyTests: XCTestCase {
    func testBackoffGrowsThenCaps() {
        let backoff = Backoff(initial: 0.5, multiplier: 2, maximum: 3)
        XCTAssertEqual((1...5).map { backoff.delay(afterAttempt: $0) }, [0.5, 1, 2, 3, 3])
        XCTAssertEqual(backoff.delay(afterAttempt: 0), 0.5, "attempts count from 1")
        XCTAssertEqual(backoff.delay(afterAttempt: 10_000), 3, "no overflow far out")
    }

    func testRetriesUntilMaxAttemptsThenGivesUp() {
        let policy = RetryPolicy(maxAttempts: 3, backoff: Backoff(initial: 1, multiplier: 4, maximum: 60))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 1, error: "busy"), .retry(attempt: 2, delay: 1))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 2, error: "busy"), .retry(attempt: 3, delay: 4))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 3, error: "busy"), .giveUp(reason: "gave up after 3 attempts: busy"))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 7, error: "busy"), .giveUp(reason: "gave up after 7 attempts: busy"),
                       "an attempt header beyond the limit (e.g. the limit was lowered) gives up too")
    }

    func testSingleAttemptNeverRetries() {
        XCTAssertEqual(RetryPolicy(maxAttempts: 1).decision(afterFailedAttempt: 1, error: "x"),
                       .giveUp(reason: "gave up after 1 attempt: x"))
    }

    func testDefaults() {
        let policy = RetryPolicy()
        XCTAssertEqual(policy.maxAttempts, 5)
        XCTAssertEqual((1...4).map { policy.backoff.delay(afterAttempt: $0) }, [1, 4, 16, 64])
    }
}

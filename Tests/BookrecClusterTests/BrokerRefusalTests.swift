@testable import BookrecQueue
import Foundation
import XCTest

/// What no retry can fix is reported at once and ends the process with a non-zero status: a wrong
/// broker password (403 ACCESS_REFUSED) and a queue that exists with other arguments (406
/// PRECONDITION_FAILED). A broker that is down is still waited for (`BrokerFaultTests`).
final class BrokerRefusalTests: XCTestCase {
    func testAWrongPasswordStopsTheWorkerAndTheCoordinatorAtOnceWithoutShowingIt() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        var components = URLComponents(string: ProcessInfo.processInfo.environment["BOOKREC_AMQP_URL"] ?? AMQPURL.defaultURL)!
        components.password = "not-the-password-\(UUID().uuidString.prefix(6))"
        let wrong = ["BOOKREC_AMQP_URL": components.string!]

        let worker = try cluster.launch("bookrec-worker", [], environment: wrong).finish(timeout: 30)
        XCTAssertNotEqual(worker.status, 0, worker.error)
        XCTAssertTrue(worker.error.contains("403 ACCESS_REFUSED"), worker.error)
        XCTAssertFalse(worker.error.contains(components.password!), "the password is never logged")
        XCTAssertFalse(worker.error.contains("retrying in"), "a refusal is not retried:\n\(worker.error)")

        let run = try cluster.run("bookrec-coordinator", KilledWorkerTests.runArguments, environment: wrong, timeout: 30)
        XCTAssertNotEqual(run.status, 0, run.error)
        XCTAssertTrue(run.error.contains("403 ACCESS_REFUSED"), run.error)
        XCTAssertFalse(run.error.contains(components.password!), "the password is never logged")
        print("wrong password: worker exited \(worker.status), coordinator \(run.status), both naming 403 ACCESS_REFUSED")
    }

    func testAQueueDeclaredWithOtherArgumentsStopsTheWorkerWith406() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let connection = try AMQPConnection(url: cluster.url, events: { _ in })
        defer { connection.close() }
        try connection.withTemporaryChannel { channel in
            try connection.declareQueue(Topology(prefix: cluster.prefix).encodeQueue, arguments: ["x-max-length": .int(1)], channel: channel)
        }

        let worker = try cluster.launch("bookrec-worker", []).finish(timeout: 30)
        XCTAssertNotEqual(worker.status, 0, worker.error)
        XCTAssertTrue(worker.error.contains("406 PRECONDITION_FAILED"), worker.error)
        XCTAssertFalse(worker.error.contains("retrying in"), "a refusal is not retried:\n\(worker.error)")
        print("queue with other arguments: worker exited \(worker.status) naming 406 PRECONDITION_FAILED")
    }
}

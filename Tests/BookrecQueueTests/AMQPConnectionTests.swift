import BookrecQueue
import XCTest

/// Connection failures that need no broker.
final class AMQPConnectionTests: XCTestCase {
    func testUnresolvableHostFailsAtOnceNamingTheEndpoint() {
        let url = AMQPURL(password: "hunter2", host: "no-such-host.invalid")
        XCTAssertThrowsError(try AMQPConnection(url: url, options: ConnectionOptions(connectTimeout: 2), events: { _ in })) { error in
            XCTAssertTrue("\(error)".hasPrefix("connecting to no-such-host.invalid:5672: "), "\(error)")
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
    }
}

import BookrecQueue
import XCTest

/// Connection failures that need no broker.
final class AMQPConnectionTests: XCTestCase {
    /// Port 1 on loopback refuses at once (no name lookup: the test machines have no DNS).
    func testRefusedConnectionFailsAtOnceNamingTheEndpoint() {
        let url = AMQPURL(password: "hunter2", host: "127.0.0.1", port: 1)
        XCTAssertThrowsError(try AMQPConnection(url: url, options: ConnectionOptions(connectTimeout: 2), events: { _ in })) { error in
            XCTAssertTrue("\(error)".hasPrefix("connecting to 127.0.0.1:1: "), "\(error)")
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
    }
}

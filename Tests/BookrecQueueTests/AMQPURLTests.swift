import BookrecQueue
import XCTest

final class AMQPURLTests: XCTestCase {
    func testParsesEveryPart() throws {
        let url = try AMQPURL(parsing: "amqp://bob:s3cret@broker.local:5673/jobs")
        XCTAssertEqual(url, AMQPURL(user: "bob", password: "s3cret", host: "broker.local", port: 5673, vhost: "jobs"))
        XCTAssertEqual(url.endpoint, "broker.local:5673")
    }

    func testDefaultsForMissingParts() throws {
        XCTAssertEqual(try AMQPURL(parsing: "amqp://broker"), AMQPURL(host: "broker"))
        XCTAssertEqual(try AMQPURL(parsing: "amqp://broker/"), AMQPURL(host: "broker"))
        XCTAssertEqual(try AMQPURL(parsing: "amqp://"), AMQPURL())
        XCTAssertEqual(try AMQPURL(parsing: "amqp://alice@broker").password, "guest")
    }

    func testPercentDecodesUserPasswordAndVhost() throws {
        let url = try AMQPURL(parsing: "amqp://us%40er:p%3Aw%2Fd%40@h:1/%2F")
        XCTAssertEqual(url.user, "us@er")
        XCTAssertEqual(url.password, "p:w/d@")
        XCTAssertEqual(url.vhost, "/")
        XCTAssertEqual(try AMQPURL(parsing: "amqp://h/my%20vhost").vhost, "my vhost")
    }

    func testIPv6Host() throws {
        let url = try AMQPURL(parsing: "amqp://u:p@[::1]:5699/")
        XCTAssertEqual(url.host, "::1")
        XCTAssertEqual(url.port, 5699)
        XCTAssertEqual(url.endpoint, "[::1]:5699")
    }

    func testRejectsBadInputWithoutQuotingTheURL() {
        let cases = ["http://u:hunter2@h/", "amqp://u:hunter2@h:notaport/", "amqp://u:hunter2@h:70000/", "amqp://u:hunter2%zz@h/",
                     "amqp://u:hunter2@[::1/", "amqp://u:hunter2@h/?cacertfile=x", "amqps://u:hunter2@h/?verify=maybe",
                     "amqps://u:hunter2@h/?sslmode=on", "amqps://u:hunter2@h/?certfile=c.pem"]
        for text in cases {
            XCTAssertThrowsError(try AMQPURL(parsing: text), text) { error in
                XCTAssertFalse(String(describing: error).contains("hunter2"), "\(error) leaks the password")
            }
        }
    }

    func testAmqpsTakesTLSSettingsFromItsQuery() throws {
        let plain = try AMQPURL(parsing: "amqps://bob:pw@broker/jobs")
        XCTAssertEqual(plain.port, 5671)
        XCTAssertEqual(plain.tls, AMQPURL.TLS())
        XCTAssertEqual(plain.description, "amqps://bob:***@broker:5671/jobs")
        let full = try AMQPURL(parsing: "amqps://bob:pw@broker:5999/%2F?cacertfile=/etc/ca.pem&certfile=/c%20c.pem&keyfile=/k.pem&verify=verify_none")
        XCTAssertEqual(full.vhost, "/")
        XCTAssertEqual(full.port, 5999)
        XCTAssertEqual(full.tls, AMQPURL.TLS(caCertificateFile: "/etc/ca.pem", certificateFile: "/c c.pem", keyFile: "/k.pem", verifyPeer: false))
        XCTAssertNil(try AMQPURL(parsing: "amqp://bob:pw@broker/").tls)
        XCTAssertThrowsError(try AMQPURL(parsing: "amqps://h/?sslmode=on")) { error in
            XCTAssertEqual("\(error)", "invalid AMQP URL: unknown query parameter 'sslmode' (known: cacertfile, certfile, keyfile, verify)")
        }
    }

    func testDescriptionRedactsThePassword() throws {
        let url = try AMQPURL(parsing: "amqp://bob:hunter2@h:5672/%2F")
        XCTAssertEqual(url.description, "amqp://bob:***@h:5672/%2F")
        XCTAssertFalse("\(url)".contains("hunter2"))
        XCTAssertFalse(String(reflecting: url.description).contains("hunter2"))
    }

    func testFromEnvironment() throws {
        XCTAssertEqual(try AMQPURL.fromEnvironment([:]), try AMQPURL(parsing: AMQPURL.defaultURL))
        XCTAssertEqual(try AMQPURL.fromEnvironment(["BOOKREC_AMQP_URL": ""]), AMQPURL())
        XCTAssertEqual(try AMQPURL.fromEnvironment(["BOOKREC_AMQP_URL": "amqp://a:b@c:1/d"]).vhost, "d")
        XCTAssertThrowsError(try AMQPURL.fromEnvironment(["BOOKREC_AMQP_URL": "nope"])) { error in
            XCTAssertTrue(String(describing: error).contains("BOOKREC_AMQP_URL"))
        }
    }
}

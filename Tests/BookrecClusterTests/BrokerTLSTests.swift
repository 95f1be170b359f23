import BookrecQueue
import Foundation
import XCTest

/// amqps: a run whose coordinator and worker reach the broker over TLS only, checking its
/// certificate against a CA made for the test; a broker whose certificate that CA did not sign
/// is refused at once.
final class BrokerTLSTests: XCTestCase {
    func testARunOverTLSGivesTheSameExportAndAnUntrustedBrokerIsRefused() throws {
        let clean = try KilledWorkerTests.cleanExport()
        let certificates = try makeTestCertificates(prefix: "bookrec-tls")
        defer { try? FileManager.default.removeItem(at: certificates) }
        let broker = PrivateBroker(port: 5703, tlsDirectory: certificates)
        try broker.start()
        defer { try? broker.stop() }

        var credentials = URLComponents(string: broker.url)!
        credentials.scheme = "amqps"
        credentials.host = "localhost"
        credentials.port = broker.port + 1000
        credentials.path = "/"
        credentials.queryItems = [URLQueryItem(name: "cacertfile", value: certificates.appendingPathComponent("ca.pem").path)]
        let tlsURL = credentials.string!
        let cluster = try TestCluster(data: TestCluster.tiny, brokerURL: tlsURL)
        defer { cluster.tearDown() }
        try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", KilledWorkerTests.runArguments)
        XCTAssertEqual(run.status, 0, "\(run.error)\n\(cluster.workerLogs())")
        XCTAssertTrue(run.error.contains("amqp: connected to localhost:\(broker.port + 1000)"), run.error)
        XCTAssertTrue(try cluster.export(k: 10) == clean, "the export over TLS differs from the clean run's")

        // The same broker checked against a CA that did not sign its certificate: refused, not retried.
        credentials.queryItems = [URLQueryItem(name: "cacertfile", value: certificates.appendingPathComponent("stranger.pem").path)]
        let untrusted = try cluster.run("bookrec-worker", [], environment: ["BOOKREC_AMQP_URL": credentials.string!], timeout: 60)
        XCTAssertEqual(untrusted.status, 1, untrusted.error)
        XCTAssertTrue(untrusted.error.contains("connecting over TLS to localhost:\(broker.port + 1000)"), untrusted.error)
        XCTAssertFalse(untrusted.error.contains("retrying"), untrusted.error)
    }
}

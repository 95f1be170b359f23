import BookrecStore
import Foundation
import XCTest

/// A PostgreSQL server for tests: the one scripts/test.sh starts and names in
/// BOOKREC_TEST_POSTGRES_URL and BOOKREC_TEST_POSTGRES_PASSWORD_FILE, or a test's own
/// (`PrivatePostgres`). Each test makes a database of its own on it.
struct PostgresServer {
    let host: String
    let port: Int
    let passwordFile: String
    /// The network namespace it is reached from, when it is on a host a test built.
    var namespace: String?

    static func shared() throws -> PostgresServer {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["BOOKREC_TEST_POSTGRES_URL"].flatMap(URLComponents.init(string:)), let host = url.host,
              let passwordFile = environment["BOOKREC_TEST_POSTGRES_PASSWORD_FILE"] else {
            let message = "no PostgreSQL server for the tests: run them with scripts/test.sh, which starts one and exports BOOKREC_TEST_POSTGRES_URL"
            XCTFail(message)
            throw ClusterTestFailure(message)
        }
        return PostgresServer(host: host, port: url.port ?? 5432, passwordFile: passwordFile)
    }

    /// A new, empty database, dropped by `TestDatabase.drop`.
    func createDatabase() throws -> TestDatabase {
        let database = TestDatabase(server: self, name: "test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))")
        try psql("CREATE DATABASE \(database.name)")
        return database
    }

    /// Runs one statement as the role `bookrec` (on its own database unless told) and returns
    /// what it prints, unaligned.
    @discardableResult
    func psql(_ statement: String, database: String = "bookrec") throws -> String {
        let psql = ["-h", host, "-p", "\(port)", "-U", "bookrec", "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", statement]
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try namespace.map { try runTool("/usr/sbin/ip", ["netns", "exec", $0, "psql"] + psql, environment: ["PGPASSWORD": password]) }
            ?? runTool("/usr/bin/psql", psql, environment: ["PGPASSWORD": password])
        guard result.status == 0 else { throw ClusterTestFailure("psql \(statement) failed: \(result.error)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A database of one test's own: its store URL (no password) and the environment that gives the password.
struct TestDatabase {
    let server: PostgresServer
    let name: String

    var url: String { "postgres://bookrec@\(server.host):\(server.port)/\(name)" }
    var environment: [String: String] { ["BOOKREC_STORE_PASSWORD_FILE": server.passwordFile] }

    func open(readOnly: Bool = false) throws -> any Store {
        try openStore(url, readOnly: readOnly, environment: environment)
    }

    func drop() {
        _ = try? server.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// A PostgreSQL server of a test's own on 127.0.0.1:`port` (through scripts/postgres.sh), for
/// tests that restart it. Ports 5801–5809 are kept for these.
struct PrivatePostgres {
    let port: Int
    /// server.pem and server.key for TLS, if it is to accept TLS.
    var tlsDirectory: URL?

    private var environment: String {
        "BOOKREC_POSTGRES_PORT=\(port)" + (tlsDirectory.map { " BOOKREC_POSTGRES_TLS_DIR='\($0.path)'" } ?? "")
    }

    var server: PostgresServer {
        PostgresServer(host: "127.0.0.1", port: port, passwordFile: TestCluster.root.appendingPathComponent(".run/postgres-\(port)/password").path)
    }

    func start() throws { try runServerScript("postgres.sh", "start", environment: environment) }
    func restart() throws { try runServerScript("postgres.sh", "restart", environment: environment) }
    func stop() throws { try runServerScript("postgres.sh", "stop", environment: environment) }
}

import BookrecQueue
import Foundation

/// A RabbitMQ broker of a test's own on 127.0.0.1:`port` (through scripts/broker.sh), for tests
/// that stop and restart it. Ports 5701–5709 are kept for these; the shared brokers are elsewhere.
/// With `tlsDirectory` (ca.pem, server.pem, server.key) it also listens for amqps on port + 1000.
struct PrivateBroker {
    let port: Int
    var tlsDirectory: URL?

    private var environment: String {
        "BOOKREC_BROKER_PORT=\(port)" + (tlsDirectory.map { " BOOKREC_BROKER_TLS_DIR='\($0.path)'" } ?? "")
    }

    func start() throws { try runServerScript("broker.sh", "start", environment: environment) }
    func stop() throws { try runServerScript("broker.sh", "stop", environment: environment) }

    /// The URL of its plain listener, with the credentials of BOOKREC_AMQP_URL.
    var url: String {
        var components = URLComponents(string: ProcessInfo.processInfo.environment["BOOKREC_AMQP_URL"] ?? AMQPURL.defaultURL)!
        components.host = "127.0.0.1"
        components.port = port
        return components.string!
    }
}

/// Runs one of the scripts that start and stop a server (scripts/broker.sh, scripts/postgres.sh)
/// with `environment` (shell assignments) and `arguments`, in the network namespace `namespace`
/// if one is given; throws with its output if it fails.
///
/// Spawned by hand rather than with Foundation's Process: the server daemonizes, and Process
/// learns of its child's exit through a descriptor that the daemon would inherit and keep
/// open. For the same reason the script runs with every descriptor past stderr closed and its
/// output in a file, so that the daemon holds none of ours (test output, AMQP sockets).
func runServerScript(_ name: String, _ arguments: String..., environment: String, namespace: String? = nil) throws {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-\(name)-\(UUID().uuidString).log")
    defer { try? FileManager.default.removeItem(at: log) }
    let script = """
        exec </dev/null >'\(log.path)' 2>&1
        for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
        \(environment) exec \(namespace.map { "ip netns exec \($0) " } ?? "")'\(TestCluster.root.path)/scripts/\(name)' \(arguments.joined(separator: " "))
        """
    let words: [String] = ["/bin/bash", "-c", script]
    let argv = words.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ)
    guard spawned == 0 else { throw ClusterTestFailure("cannot run scripts/\(name): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    guard status == 0 else {
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw ClusterTestFailure("scripts/\(name) \(arguments.joined(separator: " ")) (\(environment)) failed (wait status \(status)): \(output)")
    }
}

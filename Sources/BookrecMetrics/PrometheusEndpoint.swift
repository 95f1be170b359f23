import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus

/// Prometheus for the executables: swift-metrics sent to a registry, and `GET /metrics` serving
/// it. The libraries only emit through swift-metrics (a no-op until `bootstrap` runs).
public enum PrometheusEndpoint {
    /// Sends swift-metrics to a new registry: names and labels made valid for Prometheus
    /// (Hummingbird's `http.route` becomes `http_route`), and duration buckets from 0.5 ms,
    /// since most HTTP answers take about a millisecond and jobs take seconds.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (prometheusName(name), labels.map { (prometheusName($0.0), $0.1) })
        }
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    static func prometheusName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }

    /// The registry in Prometheus's text format 0.0.4.
    public static func response(_ registry: PrometheusCollectorRegistry) -> Response {
        var text: [UInt8] = []
        registry.emit(into: &text)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    /// Bootstraps the metrics and serves `GET /metrics` on host:port (0: any free port) for the
    /// rest of the process's life, for a worker or a coordinator; returns the bound port once the
    /// server listens.
    public static func serveInBackground(host: String, port: Int) throws -> Int {
        let registry = bootstrap()
        let router = Router()
        router.get("/metrics") { _, _ in response(registry) }
        let bound = BoundPort()
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "bookrec-metrics"),
            onServerRunning: { channel in bound.set(channel.localAddress?.port ?? port) },
            logger: Logger(label: "bookrec-metrics"))
        Task {
            do { try await app.run() } catch { bound.fail("\(error)") }
        }
        return try bound.wait()
    }
}

/// The port the metrics server bound, handed from its event loop to the caller's thread.
private final class BoundPort: @unchecked Sendable {
    private let ready = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Result<Int, MetricsEndpointError>?

    func set(_ port: Int) { finish(.success(port)) }
    func fail(_ reason: String) { finish(.failure(MetricsEndpointError(reason: reason))) }

    private func finish(_ value: Result<Int, MetricsEndpointError>) {
        let first = lock.withLock { () -> Bool in
            guard result == nil else { return false }
            result = value
            return true
        }
        if first { ready.signal() }
    }

    func wait() throws -> Int {
        ready.wait()
        return try lock.withLock { result! }.get()
    }
}

public struct MetricsEndpointError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the metrics endpoint cannot listen: \(reason)" }
}

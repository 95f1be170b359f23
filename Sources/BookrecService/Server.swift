import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus

/// The HTTP service of `bookrec-query serve`: the JSON API, the pages and the metrics of one store.
public enum BookrecServer {
    /// An application serving the store at `storePath` on host:port (port 0: any free port).
    /// `onRunning` gets the port actually bound once the server accepts connections.
    public static func application(
        storePath: String, host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
        onRunning: @escaping @Sendable (Int) -> Void
    ) throws -> some ApplicationProtocol {
        let generations = GenerationFollower(storePath: storePath)
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware(logger: logger))
        let routes = Routes(router: router)
        APIRoutes(generations: generations, registry: registry).add(to: routes)
        try PageRoutes(generations: generations).add(to: routes)
        routes.refuseOtherMethods()
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "bookrec"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Sends swift-metrics to a Prometheus registry, for `/metrics`: names and labels made valid
    /// for Prometheus (Hummingbird's `http.route` becomes `http_route`), and request-duration
    /// buckets from 0.5 ms, since most answers take about a millisecond.
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (prometheusName(name), labels.map { (prometheusName($0.0), $0.1) })
        }
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    static func prometheusName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}

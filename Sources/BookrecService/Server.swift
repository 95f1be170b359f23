import Foundation
import Hummingbird
import Logging
import Prometheus

/// The HTTP service of `bookrec-query serve`: the JSON API, the pages and the metrics of one store.
public enum BookrecServer {
    /// An application serving the store at `storeLocation` on host:port (port 0: any free port).
    /// `onRunning` gets the port actually bound once the server accepts connections.
    public static func application(
        storeLocation: String, host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
        onRunning: @escaping @Sendable (Int) -> Void
    ) throws -> some ApplicationProtocol {
        let generations = GenerationFollower(storeLocation: storeLocation)
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
}

import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecMetrics
import BookrecService
import BookrecStore
import Foundation
import Hummingbird
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serves the active generation over HTTP: the JSON API under /v1, pages for people at /, metrics at /metrics.",
        discussion: """
            Follows activation and rollback without a restart. The API is described at /openapi.json. \
            SIGTERM or SIGINT stops accepting connections, finishes the requests in flight and exits 0.
            """)

    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port, printed once listening).") var port = 8080
    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535 (got \(port))") }
    }

    func run() async throws {
        // Requests run side by side on the event loops; OpenBLAS's own threads would fight them.
        setBLASThreads(1)
        let registry = PrometheusEndpoint.bootstrap()
        var logger = Logger(label: "bookrec-query")
        logger.logLevel = .notice
        let host = host
        let location = storeOptions.location
        let app = try BookrecServer.application(
            storeLocation: location, host: host, port: port, registry: registry, logger: logger,
            onRunning: { port in
                // The line scripts and tests wait for; the port is the bound one when --port 0.
                print("bookrec-query: serving \(redactedStoreLocation(location)) at http://\(host):\(port)/")
                fflush(stdout)
            })
        try await app.runService()
    }
}

import ArgumentParser
import Foundation

/// Queue settings that are not secrets. The broker URL with its credentials comes only from
/// BOOKREC_AMQP_URL, never from arguments.
public struct QueueOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Prefix of every queue and exchange name, to run several deployments on one broker (default: $BOOKREC_QUEUE_PREFIX, else none).", valueName: "prefix"))
    public var queuePrefix: String?

    public init() {}

    public var prefix: String {
        queuePrefix ?? ProcessInfo.processInfo.environment["BOOKREC_QUEUE_PREFIX"] ?? ""
    }
}

/// Where the pretrained weights live: `--models`, else `BOOKREC_MODELS`, else ./models.
public struct ModelsOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of the pretrained encoder weights (default: $BOOKREC_MODELS, else ./models).", valueName: "dir"))
    public var models: String?

    public init() {}

    public var directory: URL {
        URL(fileURLWithPath: models ?? ProcessInfo.processInfo.environment["BOOKREC_MODELS"] ?? "models")
    }
}

/// Where a worker or coordinator serves its Prometheus metrics: off unless `--metrics-port` is given.
public struct MetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://<metrics-host>:<port>/metrics while running (0: any free port, printed).", valueName: "port"))
    public var metricsPort: Int?

    @Option(help: ArgumentHelp("The address the metrics endpoint listens on.", valueName: "host"))
    public var metricsHost = "127.0.0.1"

    public init() {}

    public func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be between 0 and 65535 (got \(metricsPort))")
        }
    }
}

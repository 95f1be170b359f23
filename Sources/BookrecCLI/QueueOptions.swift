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

import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecPipeline
import BookrecQueue
import BookrecStore
import Foundation

@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bookrec-worker",
        abstract: "A stateless worker: consumes encode and score jobs from RabbitMQ and writes results to the store.",
        discussion: """
            The broker comes from BOOKREC_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/). On SIGTERM or \
            SIGINT the worker stops taking jobs, finishes the one in hand (or lets the broker requeue it) and exits 0.
            """,
        subcommands: [ConsumeCommand.self, EmbedCommand.self],
        defaultSubcommand: ConsumeCommand.self)
}

struct ConsumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume", abstract: "Consume jobs until stopped (the default).")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var modelsOptions: ModelsOptions

    @Option(help: "Jobs processed at once (each on its own thread and connection).")
    var concurrency = 1

    func run() throws {
        setBLASThreads(1)
        let stop = StopSignal()
        stop.installHandlers { signal in printError("worker: received signal \(signal), finishing the job in hand") }
        var options = Worker.Options()
        options.concurrency = concurrency
        options.modelsDirectory = modelsOptions.directory
        options.topology = Topology(prefix: queueOptions.prefix)
        let url = try AMQPURL.fromEnvironment()
        let store = try Store(path: storeOptions.path)
        printError("worker: consuming from \(url) with concurrency \(concurrency), store \(store.path)")
        Worker(store: store, url: url, options: options, stop: stop, log: { printError("worker: \($0)") }).run()
        printError("worker: stopped")
    }
}

import ArgumentParser
import BookrecCLI
import BookrecMetrics
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
    @OptionGroup var metricsOptions: MetricsOptions

    @Option(help: "Jobs processed at once (each on its own thread and connection).")
    var concurrency = 1

    @Option(help: "Deliveries of a job that fails transiently (store busy, write failed) before it is dead-lettered.")
    var maxAttempts = RetryPolicy().maxAttempts

    @Option(help: "Seconds before the first retry of a failed job; each further retry waits 4 times longer (at most 300 s).")
    var retryDelay = RetryPolicy().backoff.initial

    @Option(help: "Seconds a store write waits for another process's write before it fails (and is retried).")
    var busyTimeout: Double = 30

    func validate() throws {
        guard maxAttempts >= 1, retryDelay >= 0, retryDelay <= 300, busyTimeout >= 0 else {
            throw ValidationError("--max-attempts must be at least 1, --retry-delay between 0 and 300 s, --busy-timeout not negative")
        }
        // Each slot is three threads and three broker connections.
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 64 (got \(concurrency))") }
    }

    func run() throws {
        setBLASThreads(1)
        printError("worker: \(BLASKernels.current)")
        if let port = metricsOptions.metricsPort {
            let bound = try PrometheusEndpoint.serveInBackground(host: metricsOptions.metricsHost, port: port)
            printError("worker: metrics at http://\(metricsOptions.metricsHost):\(bound)/metrics")
        }
        let stop = StopSignal()
        stop.installHandlers { signal in printError("worker: received signal \(signal), finishing the job in hand") }
        var options = Worker.Options()
        options.concurrency = concurrency
        options.modelsDirectory = modelsOptions.directory
        options.topology = Topology(prefix: queueOptions.prefix)
        options.consumer.retry = RetryPolicy(maxAttempts: maxAttempts, backoff: Backoff(initial: retryDelay, multiplier: 4, maximum: 300))
        let url = try AMQPURL.fromEnvironment()
        let store = try storeOptions.open(busyTimeout: busyTimeout)
        printError("worker: consuming from \(url) with concurrency \(concurrency), store \(store.location)")
        let worker = Worker(store: store, url: url, options: options, stop: stop, log: { printError("worker: \($0)") })
        worker.run()
        if let reason = worker.stoppedBecause {
            printError("worker: stopped: \(reason)")
            throw ExitCode.failure
        }
        printError("worker: stopped")
    }
}

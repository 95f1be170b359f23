import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecPipeline
import BookrecQueue
import BookrecStore
import Foundation
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Applies enqueued reindex requests (add-books/add-ratings --enqueue) as incremental generations, until stopped.",
        discussion: """
            Consumes the reindex queue. Each request is applied with every other one pending at that moment: \
            each run of consecutive requests of one kind, in the order they were accepted, as one add-books or \
            add-ratings generation. Holds the coordinator lock, so foreground generation commands on the same \
            store are refused meanwhile (enqueue instead). SIGTERM or SIGINT finishes the generation in hand and \
            exits 0; a request interrupted otherwise is applied when the service runs again.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var modelsOptions: ModelsOptions
    @OptionGroup var metricsOptions: MetricsOptions

    func run() async throws {
        try startCoordinator(metricsOptions)
        let store = try storeOptions.open()
        let lock = try exitingOnRunFailure { try lockCoordinator(of: store) }
        defer { lock.release() }
        let service = ReindexConsumer(
            store: store, url: try AMQPURL.fromEnvironment(), topology: Topology(prefix: queueOptions.prefix),
            service: ReindexService(store: store, runner: { try makeRunner(store: store, queue: queueOptions, models: modelsOptions) }, log: { printError($0) }))
        let group = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "bookrec-coordinator")))
        try await group.run()
        printError("coordinator: stopped")
    }
}

/// The reindex queue's consumer as a swift-service-lifecycle service: the consumer (blocking, on
/// rabbitmq-c) runs on a thread of its own; a graceful shutdown lets the delivery in hand, and the
/// generation it runs, finish, then stops consuming.
struct ReindexConsumer: Service {
    let store: Store
    let url: AMQPURL
    let topology: Topology
    let service: ReindexService

    func run() async throws {
        let stop = StopSignal()
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (finished: CheckedContinuation<Void, any Error>) in
                Thread.detachNewThread {
                    let consumer = Consumer(url: url, topology: topology, options: ConsumerOptions(prefetch: 1), events: { printError("\($0)") })
                    printError("coordinator: serving reindex requests from \(topology.reindexQueue) for \(store.location)")
                    finished.resume(with: Result {
                        try consumer.consume(queue: topology.reindexQueue, shouldStop: { stop.isRaised }) { delivery in service.handle(delivery) }
                    })
                }
            }
        } onGracefulShutdown: {
            printError("coordinator: stopping; finishing the generation in hand")
            stop.raise()
        }
    }
}

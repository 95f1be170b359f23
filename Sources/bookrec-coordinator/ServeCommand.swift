import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecPipeline
import BookrecQueue
import BookrecStore
import Foundation

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Applies enqueued reindex requests (add-books/add-ratings --enqueue) as incremental generations, until stopped.",
        discussion: """
            Consumes the reindex queue. Each request is applied with every other one pending at that moment: \
            their books in one add-books generation, then their ratings in one add-ratings generation, in the \
            order they were accepted. Holds the coordinator lock, so foreground generation commands on the same \
            store are refused meanwhile (enqueue instead). SIGTERM or SIGINT finishes the generation in hand and \
            exits 0; a request interrupted otherwise is applied when the service runs again.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var modelsOptions: ModelsOptions
    @OptionGroup var metricsOptions: MetricsOptions

    func run() throws {
        try startCoordinator(metricsOptions)
        try withCoordinatorLock(storePath: storeOptions.path) {
            let store = try Store(path: storeOptions.path)
            let stop = StopSignal()
            stop.installHandlers { signal in printError("coordinator: received signal \(signal), finishing the generation in hand") }
            let service = ReindexService(
                store: store, runner: { try makeRunner(store: store, queue: queueOptions, models: modelsOptions) }, log: { printError($0) })
            let topology = Topology(prefix: queueOptions.prefix)
            let consumer = Consumer(url: try AMQPURL.fromEnvironment(), topology: topology, options: ConsumerOptions(prefetch: 1), events: { printError("\($0)") })
            printError("coordinator: serving reindex requests from \(topology.reindexQueue) for \(store.path)")
            try consumer.consume(queue: topology.reindexQueue, shouldStop: { stop.isRaised }) { delivery in service.handle(delivery) }
            printError("coordinator: stopped")
        }
    }
}

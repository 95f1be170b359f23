import ArgumentParser
import BookrecCLI
import BookrecMetrics
import BookrecCore
import BookrecData
import BookrecPipeline
import BookrecQueue
import BookrecStore
import Foundation

/// Prints what the input yielded: the rejected rows and files (the first 20 of each file, in line
/// order), then the accepted and rejected counts per file.
func reportInput(_ input: CatalogImport) {
    if !input.problems.isEmpty {
        printError("\(input.problems.count) rows or files skipped:")
        for (_, problems) in Dictionary(grouping: input.problems, by: \.file).sorted(by: { $0.key < $1.key }) {
            reportProblems(problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
    }
    for (file, count) in input.counts.sorted(by: { $0.key < $1.key }) {
        printError("\(URL(fileURLWithPath: file).lastPathComponent): \(count.accepted) accepted, \(count.rejected) rejected")
    }
}

func describe(_ summary: ImportSummary, in store: Store) -> String {
    "imported into \(store.location): \(summary.booksAdded) books added, \(summary.booksChanged) changed; \(summary.coversAdded) covers added, \(summary.coversChanged) changed; \(summary.ratingsAdded) ratings added, \(summary.ratingsChanged) changed; \(summary.unchanged) rows unchanged"
}

/// The runner every generation command drives, with progress on standard error.
func makeRunner(store: Store, queue: QueueOptions, models: ModelsOptions, configuration: RunConfiguration = RunConfiguration()) throws -> GenerationRunner {
    GenerationRunner(
        store: store, url: try AMQPURL.fromEnvironment(), topology: Topology(prefix: queue.prefix),
        configuration: configuration, modelsDirectory: models.directory,
        progress: ProgressReporter(interactive: isatty(STDERR_FILENO) == 1, write: { FileHandle.standardError.write(Data($0.utf8)) }),
        log: { printError($0) })
}

/// What every generation command does first: one BLAS thread (the model step sets its own), the
/// kernel set in the log, and the Prometheus metrics for the rest of the command when asked for.
func startCoordinator(_ options: MetricsOptions) throws {
    setBLASThreads(1)
    printError("coordinator: \(BLASKernels.current)")
    guard let port = options.metricsPort else { return }
    let bound = try PrometheusEndpoint.serveInBackground(host: options.metricsHost, port: port)
    printError("coordinator: metrics at http://\(options.metricsHost):\(bound)/metrics")
}

/// Runs a generation command on the store under its coordinator lock; a RunFailure is printed and exits 1.
func withCoordinatorLock(_ storeOptions: StoreOptions, _ body: (any Store) throws -> Void) throws {
    let store = try storeOptions.open()
    try exitingOnRunFailure {
        let lock = try lockCoordinator(of: store)
        defer { lock.release() }
        try body(store)
    }
}

/// The store's coordinator lock; another coordinator holding it is a RunFailure. Losing it while
/// running (another coordinator may have it now) stops this process at once with exit 1: what it
/// stored so far is resumed by the next run.
func lockCoordinator(of store: any Store) throws -> any CoordinatorLock {
    do {
        return try store.lockCoordinator(onLoss: { reason in
            printError("coordinator: \(reason); stopping")
            exit(1)
        })
    } catch let error as StoreError {
        throw RunFailure(description: error.description)
    }
}

/// What `body` returns; a RunFailure it throws is printed and becomes exit status 1.
func exitingOnRunFailure<Result>(_ body: () throws -> Result) throws -> Result {
    do {
        return try body()
    } catch let failure as RunFailure {
        printError(failure.description)
        throw ExitCode(1)
    }
}

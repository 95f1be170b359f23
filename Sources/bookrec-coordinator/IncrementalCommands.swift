import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecData
import BookrecPipeline
import BookrecQueue
import BookrecStore
import Foundation

struct AddBooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-books",
        abstract: "Adds new books and merges them into every reader's recommendations, in a new generation.",
        discussion: """
            FILE is CSV with the columns of books.csv (book_id, title, authors; optionally \
            original_publication_year, language_code, isbn13) plus optional description, tags and genres (names \
            separated by |) and cover (an image path, relative to FILE's folder and inside it, or inside \
            --covers-root; at most 20 MB), or JSON lines (.jsonl, .ndjson, .json) with the same keys. Bad rows \
            are reported as file:line: reason and skipped; a book_id already in the catalog with other content is \
            rejected (change books with import and run).

            Workers encode the new books (an unchanged book is never encoded twice), the active generation's \
            model places them by their content, and each reader's stored top-K is merged with their top-K over \
            the new books; old books are not scored again. The new generation is activated in one transaction. \
            Any book of the catalog that the active generation lacks (e.g. one imported since) is added too. \
            Adding the same file again changes nothing. Interrupted, run it again to resume.

            With --enqueue, the file is checked and its accepted books stored as now, and a request is \
            published to the reindex queue for `bookrec-coordinator serve` to apply; its id is printed at once \
            (`bookrec-query status` follows it). The same file enqueued twice is one request.
            """)

    @Argument(help: ArgumentHelp("CSV or JSON lines file of new books.", valueName: "file"))
    var file: String

    @Flag(help: "Store the books and queue the request for `bookrec-coordinator serve` instead of applying it here.")
    var enqueue = false

    @Option(help: ArgumentHelp("Folder the cover paths are read from and must stay inside (default: FILE's folder).", valueName: "folder"))
    var coversRoot: String?

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var modelsOptions: ModelsOptions
    @OptionGroup var metricsOptions: MetricsOptions

    func run() throws {
        try startCoordinator(metricsOptions)
        let accepted = { (store: Store) throws -> CatalogImport in
            var additions = NewBooksParser(coversRoot: coversRoot.map { URL(fileURLWithPath: $0) }).parse(file: URL(fileURLWithPath: file))
            try rejectChangedBooks(&additions, store: store)
            reportInput(additions)
            if additions.books.isEmpty && additions.problems.contains(where: \.concernsTheWholeFile) {
                throw ValidationError("no book could be read from \(file)")
            }
            return additions
        }
        if enqueue {
            let store = try storeOptions.open()
            let additions = try accepted(store)
            return try enqueueReindex(
                .books, file: file, count: additions.books.count, content: ReindexContent(books: additions.books, covers: additions.covers),
                store: store, queue: queueOptions)
        }
        try withCoordinatorLock(storeOptions) { store in
            let additions = try accepted(store)
            print(describe(try store.importCatalog(books: additions.books, covers: additions.covers, ratings: []), in: store))
            let outcome = try makeRunner(store: store, queue: queueOptions, models: modelsOptions).addBooks()
            report(outcome, of: "new books")
        }
    }
}

struct AddRatingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-ratings",
        abstract: "Adds ratings, folds in the readers they concern and rescores only them, in a new generation.",
        discussion: """
            FILE is CSV with user_id,book_id,rating (1 to 5); a rating replaces the reader's earlier one of the \
            same book. Bad rows are reported as file:line: reason and skipped. Every reader whose ratings differ \
            from those behind their vector in the active generation, new readers included, gets p_u solved in \
            closed form against the model's fixed book vectors (no retraining) and a new list; every other \
            reader's list is carried over. The new generation is activated in one transaction. Adding the same \
            file again changes nothing. Interrupted, run it again to resume.
            """)

    @Argument(help: ArgumentHelp("CSV file of ratings (user_id,book_id,rating).", valueName: "file"))
    var file: String

    @Flag(help: "Store the ratings and queue the request for `bookrec-coordinator serve` instead of applying it here.")
    var enqueue = false

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var modelsOptions: ModelsOptions
    @OptionGroup var metricsOptions: MetricsOptions

    func run() throws {
        try startCoordinator(metricsOptions)
        // Enqueued, ratings may name books that requests before them will add.
        let accepted = { (store: Store, known: Set<Int>) throws -> CatalogImport in
            let additions = RatingsParser.parse(file: URL(fileURLWithPath: file), known: known)
            reportInput(additions)
            if additions.ratings.isEmpty && additions.problems.contains(where: \.concernsTheWholeFile) {
                throw ValidationError("no rating could be read from \(file)")
            }
            return additions
        }
        if enqueue {
            let store = try storeOptions.open()
            let additions = try accepted(store, try store.bookIDs().union(try store.pendingBookIDs()))
            return try enqueueReindex(
                .ratings, file: file, count: additions.ratings.count, content: ReindexContent(ratings: additions.ratings), store: store, queue: queueOptions)
        }
        try withCoordinatorLock(storeOptions) { store in
            let additions = try accepted(store, try store.bookIDs())
            print(describe(try store.importCatalog(books: [], covers: [:], ratings: additions.ratings), in: store))
            let outcome = try makeRunner(store: store, queue: queueOptions, models: modelsOptions).addRatings()
            report(outcome, of: "readers with new ratings")
        }
    }
}

/// Records the accepted rows as a reindex request (the same file is the same request) and
/// publishes it to the reindex queue, confirmed; prints its id. A request already applied is not
/// published again.
private func enqueueReindex(
    _ kind: ReindexRequest.Kind, file: String, count: Int, content: ReindexContent, store: Store, queue: QueueOptions
) throws {
    guard count > 0 else {
        print("nothing accepted from \(file); nothing enqueued")
        return
    }
    let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
    let (request, isNew) = try store.acceptReindexRequest(
        kind: kind, contentHash: contentHash(Array(bytes)), file: file, accepted: count, content: try JSONEncoder().encode(content))
    if request.state == .done {
        print("reindex request \(request.id): this file was applied already, in generation \(request.generationID ?? -1)")
        return
    }
    let topology = Topology(prefix: queue.prefix)
    let publisher = try Publisher(url: try AMQPURL.fromEnvironment(), topology: topology, events: { printError("\($0)") })
    defer { publisher.close() }
    try publisher.publish(try ReindexMessage(requestID: request.id).outgoing(on: topology))
    try publisher.waitForConfirms()
    print("reindex request \(request.id) \(isNew ? "queued" : "already known (\(request.state.rawValue)), queued again"): \(count) \(kind.rawValue) from \(file)")
}

private func report(_ outcome: IncrementalOutcome, of what: String) {
    guard outcome.count > 0 else {
        print("no \(what); generation \(outcome.activeGenerationID) stays active")
        return
    }
    let timings = outcome.timings
    print(String(
        format: "generation %d active: %d %@; encode %.1f s, model %.1f s, score %.1f s, total %.1f s",
        outcome.activeGenerationID, outcome.count, what, timings.encode, timings.train, timings.score, timings.total))
}

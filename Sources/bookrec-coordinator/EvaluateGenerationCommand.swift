import ArgumentParser
import BookrecCLI
import BookrecData
import BookrecEvaluation
import BookrecStore
import Foundation

struct EvaluateGenerationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-generation",
        abstract: "The cold protocol measured on the active generation of a store, for books brought in by add-books.",
        discussion: """
            Carves the same split as `evaluate` (same data and seed). With --print-cold-books it prints the \
            cold-test book ids (comma-separated) and stops; otherwise it ranks those books for every reader who \
            rated one of them ≥ 4, with the vectors of the store's active generation, and prints Recall@10, \
            NDCG@10 and HR@10. scripts/cold-through-add-books.sh runs the whole path.
            """)

    @Option(help: ArgumentHelp("Folder in the goodbooks layout with every rating (the split's source).", valueName: "dir"))
    var data = "data/goodbooks"

    @Option(help: "Seed of the split.")
    var seed: UInt64 = 2024

    @Flag(help: "Print the cold-test book ids and stop.")
    var printColdBooks = false

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let catalog = GoodbooksLoader(directory: URL(fileURLWithPath: data)).load()
        let split = EvaluationSplit(ratings: catalog.ratings, seed: seed)
        if printColdBooks {
            print(split.coldBooks.sorted().map(String.init).joined(separator: ","))
            return
        }
        let store = try storeOptions.open(readOnly: true)
        guard let generation = try store.activeGenerationID() else { throw ValidationError("no active generation in \(store.location)") }
        let books = try store.bookVectors(generationID: generation)
        let bookVectors = Dictionary(uniqueKeysWithValues: books.ids.indices.map { (books.ids[$0], (books.vectors[$0], books.terms[$0])) })
        let readers = Set(split.coldTest.map(\.user)).sorted()
        let readerVectors = try store.readerVectors(generationID: generation, userIDs: readers).mapValues(\.vector)
        let (metrics, readerCount, bookCount) = coldMetrics(
            split: split, readerVectors: readerVectors, bookVectors: bookVectors,
            itemItem: try store.itemItemWeights(generationID: generation), ratings: try store.ratings(userIDs: readers))
        print(String(
            format: "generation %d, cold protocol over %d books and %d readers: Recall@10 %.4f, NDCG@10 %.4f, HR@10 %.4f",
            generation, bookCount, readerCount, metrics.recall10, metrics.ndcg10, metrics.hitRate10))
    }
}

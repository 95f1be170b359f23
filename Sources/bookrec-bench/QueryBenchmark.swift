import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecStore
import Foundation

/// `recommend` and `similar` lookups inside one process on a warm store, as latency percentiles
/// and as ratios to a primary-key read of one reader vector through the same store in the same run.
/// `similar` answers from neighbours precomputed as the service precomputes them.
struct QueryBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "p50/p99 of recommend and similar on a store's active generation (e.g. after scripts/demo.sh).")

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Lookups of each kind.") var lookups = 20_000
    @Option(help: "Books per answer.") var k = 10

    func run() throws {
        let store = try storeOptions.open(readOnly: true)
        let reader = try QueryReader(store: store)
        let users = try store.readerIDs(generationID: reader.generationID)
        // As the service holds a generation: each book's nearest books precomputed.
        let vectors = try BookVectorIndex(store: store, generationID: reader.generationID, precomputingNeighbours: true)
        let books = vectors.bookIDs
        guard !users.isEmpty, !books.isEmpty else { throw ValidationError("the active generation of \(store.location) has no readers or books") }
        var generator = SeededGenerator(seed: 3)
        let sampledUsers = (0..<lookups).map { _ in users[Int(generator.next() % UInt64(users.count))] }
        let sampledBooks = (0..<lookups).map { _ in books[Int(generator.next() % UInt64(books.count))] }

        let baseline = try percentiles(sampledUsers) { _ = try store.readerVectors(generationID: reader.generationID, userIDs: [$0]) }
        let recommend = try percentiles(sampledUsers) { _ = try reader.recommendations(user: $0, k: k) }
        let similar = try percentiles(sampledBooks) { _ = try vectors.similar(book: $0, k: k) }
        print("store \(store.location), generation \(reader.generationID): \(users.count) readers, \(books.count) books, \(lookups) lookups each")
        for (name, figures) in [("point read of a reader vector (baseline)", baseline), ("recommend -k \(k)", recommend), ("similar -k \(k)", similar)] {
            print(String(
                format: "%@: p50 %.3f ms, p99 %.3f ms = %.2f × the baseline's p99",
                name, figures.p50 * 1e3, figures.p99 * 1e3, figures.p99 / baseline.p99))
        }
    }

    /// Median and 99th percentile of `body`'s latency over `inputs`, after one warm-up pass.
    private func percentiles(_ inputs: [Int], _ body: (Int) throws -> Void) throws -> (p50: Double, p99: Double) {
        for input in inputs.prefix(1000) { try body(input) }
        var seconds = [Double]()
        seconds.reserveCapacity(inputs.count)
        for input in inputs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body(input)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        seconds.sort()
        return (seconds[seconds.count / 2], seconds[min(seconds.count - 1, seconds.count * 99 / 100)])
    }
}

import ArgumentParser
import BookrecCore
import Foundation

/// One iALS round of each side (what a train job solves) on a synthetic problem shaped like the
/// bundled data, on one thread, as the rate of its arithmetic against the same run's
/// single-thread sgemm.
struct ImplicitALSBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ials", abstract: "iALS half-steps (the train jobs' solve): rows/s and the share of sgemm's rate.")

    @Option(help: "Books.") var books = 10_000
    @Option(help: "Readers.") var readers = 53_000
    @Option(help: "Ratings.") var ratings = 600_000
    @Option(help: "Factors (the model's collaborative width).") var factors = ModelConfiguration().implicitALS.factors
    @Option(help: "Seconds to time each side for.") var seconds = 5.0

    func run() throws {
        let peak = sgemmPeakGFLOPS(seconds: 1)
        var generator = SeededGenerator(seed: 7)
        var unique = Set<Int64>()
        let triples = (0..<ratings).map { _ in (Int.random(in: 0..<readers, using: &generator), Int.random(in: 0..<books, using: &generator)) }
            .filter { unique.insert(Int64($0.0) << 32 | Int64($0.1)).inserted }
            .map { (reader: $0.0, book: $0.1, rating: Float(5)) }
        let interactions = Interactions(readers: readers, books: books, triples: triples)
        var configuration = ModelConfiguration().implicitALS
        configuration.factors = factors
        let (readerFactors, bookFactors) = ImplicitALS.start(readers: readers, books: books, configuration: configuration)
        let readersByBook = interactions.readersByBook()
        let sides: [(name: String, current: Matrix, rated: [[Int32]], fixed: Matrix)] = [
            ("readers", readerFactors, interactions.booksByReader, bookFactors), ("books", bookFactors, readersByBook, readerFactors),
        ]
        setBLASThreads(1)
        for side in sides {
            let time = medianSeconds(seconds: seconds) {
                _ = ImplicitALS.solve(rows: 0..<side.current.rows, current: side.current, rated: side.rated, fixed: side.fixed, configuration: configuration)
            }
            // Per apply of A (one per CG step and one for the start): 4k per rating (a dot and an
            // axpy) and 2k² per row (the shared Gram); the Gram itself is 2k² per row of the fixed side.
            let applies = Double(configuration.conjugateGradientSteps + 1), k = Double(factors)
            let flops = applies * (4 * k * Double(triples.count) + 2 * k * k * Double(side.current.rows)) + 2 * k * k * Double(side.fixed.rows)
            print(String(format: "%@: %d rows in %.3f s = %.0f rows/s; %.1f GFLOP/s = %.3f of sgemm",
                         side.name, side.current.rows, time, Double(side.current.rows) / time, flops / time / 1e9, flops / time / 1e9 / peak))
        }
    }
}

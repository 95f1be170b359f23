import ArgumentParser
import BookrecCore
import Foundation

/// Time per training batch of bookrec's model on a synthetic catalog shaped like goodbooks
/// (10k books, 2048-d sparse text features, 252-d cover features on a few books), as a ratio to
/// the time of one sgemm of the text projection measured in the same run.
struct TrainingBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "training", abstract: "Training throughput (examples/s) of the fusion model.")

    @Option(help: "Books.") var books = 10_000
    @Option(help: "Readers.") var readers = 50_000
    @Option(help: "Ratings.") var ratings = 600_000
    @Option(help: "Batches to time.") var batches = 20
    @Option(help: "Examples per batch.") var batchSize = ModelConfiguration().batchSize
    @Option(help: "Width d of t′ and v′.") var fusedDimension = ModelConfiguration().fusedDimension

    func run() throws {
        _ = sgemmPeakGFLOPS(seconds: 1)
        var generator = SeededGenerator(seed: 5)
        var text = Matrix(rows: books, columns: 2048)
        var cover = Matrix(rows: books, columns: GridCoverEncoder().dimension)
        for b in 0..<books {
            for _ in 0..<60 { text[b, Int.random(in: 0..<2048, using: &generator)] = Float.random(in: 0..<0.3, using: &generator) }
            if b % 20 == 0 { for j in 0..<cover.columns { cover[b, j] = Float.random(in: 0..<0.2, using: &generator) } }
        }
        let triples = (0..<ratings).map { _ in (Int.random(in: 0..<readers, using: &generator), Int.random(in: 0..<books, using: &generator), Float(Int.random(in: 1...5, using: &generator))) }
        var unique = Set<Int64>()
        let interactions = Interactions(readers: readers, books: books, triples: triples.filter { unique.insert(Int64($0.0) << 32 | Int64($0.1)).inserted }.map { ($0.0, $0.1, $0.2) })
        let features = BookFeatures(text: text, cover: cover)
        var configuration = ModelConfiguration()
        configuration.epochs = 1
        configuration.batchSize = batchSize
        configuration.fusedDimension = fusedDimension
        let parameters = ModelParameters(configuration: configuration, textDimension: 2048, coverDimension: cover.columns, readers: readers, books: books)
        let examples = (0..<(configuration.batchSize * batches)).map { i in
            TrainingExample(reader: Int(interactions.reader[i]), book: Int(interactions.book[i]), negative: Int.random(in: 0..<books, using: &generator), usesResidual: i % 2 == 0)
        }
        let start = Date()
        for batch in 0..<batches {
            _ = parameters.lossAndGradient(examples: Array(examples[(batch * configuration.batchSize)..<((batch + 1) * configuration.batchSize)]), features: features, configuration: configuration)
        }
        let perBatch = Date().timeIntervalSince(start) / Double(batches)
        var projected = Matrix(rows: books, columns: configuration.fusedDimension)
        let gemmStart = Date()
        gemm(text, parameters.textWeights, transposeB: true, into: &projected)
        let gemmTime = Date().timeIntervalSince(gemmStart)
        print(String(format: "loss+gradient: %.1f ms per batch of %d = %.0f examples/s; %.2f× the time of one %d×2048×%d text-projection sgemm",
                     perBatch * 1000, configuration.batchSize, Double(configuration.batchSize) / perBatch, perBatch / gemmTime, books, configuration.fusedDimension))
    }
}

import ArgumentParser
import BookrecCore
import Foundation

/// The scoring kernel (logits as one product plus the book term, then top-K per reader) set
/// against a plain single-thread sgemm of the same shape, measured in the same run.
struct ScoringBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scoring",
        abstract: "Readers × books scoring throughput as a fraction of this machine's sgemm rate.")

    @Option(help: "Readers scored.") var readers = 8192
    @Option(help: "Books in the catalog.") var books = 10_000
    @Option(help: "Factors k (default: the model's).") var factors = ModelConfiguration().factors
    @Option(help: "Books kept per reader.") var topK = 50

    func run() throws {
        setBLASThreads(1)
        var generator = SeededGenerator(seed: 1)
        func random(_ rows: Int, _ columns: Int) -> Matrix {
            Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { _ in generator.nextGaussian() })
        }
        let items = random(books, factors)
        let readerMatrix = random(readers, factors)
        let scorer = Scorer(side: ItemSide(fused: Matrix(rows: books, columns: 0), vectors: items, bookTerms: [Float](repeating: 0, count: books)), bookIDs: Array(0..<books))
        let flops = 2.0 * Double(readers) * Double(books) * Double(factors)

        // Baseline: the bare product in one sgemm call.
        var product = Matrix(rows: readers, columns: books)
        let sgemm = best(of: 3) { gemm(readerMatrix, items, transposeB: true, into: &product) }
        let peakRate = sgemmPeakGFLOPS(seconds: 1) * 1e9

        let excluded = [[Int32]](repeating: [], count: readers)
        let bias = [Float](repeating: 0, count: readers)
        let logitsTime = best(of: 3) { _ = scorer.logits(readers: readerMatrix, readerBias: bias, slots: Array(0..<readers)) }
        let fullTime = best(of: 3) { _ = scorer.topK(readers: readerMatrix, readerBias: bias, slots: Array(0..<readers), excluded: excluded, k: topK) }

        print("bare sgemm \(readers)×\(factors) · \(factors)×\(books): \(format(flops / sgemm / 1e9)) GFLOP/s = \(format(flops / sgemm / peakRate)) of peak")
        print("scorer logits (blocked, + book term): \(format(flops / logitsTime / 1e9)) GFLOP/s = \(format(sgemm / logitsTime)) of bare sgemm, \(format(flops / logitsTime / peakRate)) of peak")
        print("scorer logits + top-\(topK): \(format(Double(readers) / fullTime)) readers/s = \(format(flops / fullTime / 1e9)) GFLOP/s of useful product, \(format(flops / fullTime / peakRate)) of peak; \(format(sgemm / fullTime)) of bare sgemm time")
    }

    private func best(of runs: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    private func format(_ value: Double) -> String { String(format: "%.3g", value) }
}

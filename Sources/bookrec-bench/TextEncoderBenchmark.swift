import ArgumentParser
import BookrecCore
import BookrecData
import BookrecMiniLM
import COpenBLAS
import Foundation

/// Measures the all-MiniLM-L6-v2 encoder and sets it against this machine's own sgemm speed, so
/// the figures say how close the forward pass gets to the hardware rather than just a rate.
struct TextEncoderBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-encoder",
        abstract: "Texts per second of the MiniLM text encoder on 1 and 2 threads, against peak sgemm.")

    @Option(help: "Folder holding model.safetensors and vocab.txt.")
    var models = "models/minilm"

    @Option(help: "JSON file whose books[].text are the book texts to encode.")
    var books = "Tests/Fixtures/reference/minilm_books.json"

    @Option(help: "Goodbooks folder whose catalog texts (every 50th book's, as the encode jobs build them) are the last workload.")
    var catalog = "data/goodbooks"

    @Option(help: "Seconds to spend on each measurement.")
    var seconds = 2.0

    /// Short sentences of 10 to 13 ids, the size of a typical query.
    static let shortSentences = [
        "A young wizard discovers his magical heritage.",
        "Space opera; interstellar war & political intrigue.",
        "A quiet story about grief and friendship.",
        "Detectives hunt a killer through foggy London.",
        "A cookbook of simple vegetarian family meals.",
        "Two rival chefs fall in love in Paris.",
        "The history of the Roman empire, retold.",
        "Dragons return to a kingdom at war.",
    ]

    func run() throws {
        let folder = URL(fileURLWithPath: models)
        let loadStart = Date()
        let encoder = try MiniLMEncoder(
            safetensors: Data(contentsOf: folder.appendingPathComponent("model.safetensors")),
            vocabulary: Data(contentsOf: folder.appendingPathComponent("vocab.txt")))
        print(String(format: "model loaded in %.2f s", Date().timeIntervalSince(loadStart)))

        let bookTexts = try Self.bookTexts(URL(fileURLWithPath: books))
        let catalogBooks = GoodbooksLoader(directory: URL(fileURLWithPath: catalog)).load().books
        guard !catalogBooks.isEmpty else { throw ValidationError("no books could be read from \(catalog)") }
        let catalogTexts = stride(from: 0, to: catalogBooks.count, by: 50).map { catalogBooks[$0].text }
        let peak = sgemmPeakGFLOPS(seconds: seconds)
        print("")
        print("workload                  threads  texts/s   ms/text   GFLOP/s  of peak")

        let workloads: [(name: String, texts: [String], batched: Bool)] = [
            ("short, one at a time", Self.shortSentences, false),
            ("short, batch of \(Self.shortSentences.count)", Self.shortSentences, true),
            ("books, one at a time", bookTexts, false),
            ("books, batch of \(bookTexts.count)", bookTexts, true),
            ("catalog, batch of \(catalogTexts.count)", catalogTexts, true),
        ]
        for threads in [1, 2] {
            setBLASThreads(threads)
            for workload in workloads {
                let flops = workload.texts.reduce(0) { $0 + Self.forwardFLOPs(ids: encoder.tokenizer.ids(for: $1).count) }
                let perRound = try measure {
                    if workload.batched {
                        _ = try encoder.encode(workload.texts)
                    } else {
                        for text in workload.texts { _ = try encoder.encode([text]) }
                    }
                }
                let perText = perRound / Double(workload.texts.count)
                let gflops = flops / perRound / 1e9
                print(
                    workload.name.padding(toLength: 26, withPad: " ", startingAt: 0)
                        + String(format: "%7d %8.1f %9.2f %9.1f %7.0f%%", threads, 1 / perText, perText * 1000, gflops, 100 * gflops / peak))
            }
        }
        setBLASThreads(1)
    }

    /// Multiply-adds of the forward pass for one text of `ids` tokens, counted as 2 FLOPs each:
    /// the six linear layers per encoder layer plus the two attention products.
    static func forwardFLOPs(ids n: Int) -> Double {
        let hidden = 384.0, intermediate = 1536.0, layers = 6.0
        let linear = Double(n) * (4 * hidden * hidden + 2 * hidden * intermediate)
        let attention = 2 * Double(n * n) * hidden
        return 2 * layers * (linear + attention)
    }

    private func measure(_ body: () throws -> Void) rethrows -> Double {
        try medianSeconds(minimumRounds: 5, seconds: seconds, body)
    }


    private static func bookTexts(_ url: URL) throws -> [String] {
        struct Books: Decodable {
            struct Book: Decodable { let text: String }
            let books: [Book]
        }
        return try JSONDecoder().decode(Books.self, from: Data(contentsOf: url)).books.map(\.text)
    }
}

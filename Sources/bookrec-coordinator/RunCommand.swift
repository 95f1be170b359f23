import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecPipeline
import BookrecQueue
import BookrecStore
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Trains the model and runs the encode and score jobs of a new generation, then activates it.",
        discussion: """
            Publishes encode jobs, waits for the workers, trains, publishes score jobs, waits, and activates the \
            generation in one transaction. Run it again after an interruption and it resumes: shards already done \
            are not redone. Exits non-zero, naming the failed shards, if any job is dead-lettered. Only one \
            coordinator may run against a store at a time.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var modelsOptions: ModelsOptions
    @OptionGroup var metricsOptions: MetricsOptions

    @Option(help: "Text encoder: hashing (no files) or minilm (pretrained all-MiniLM-L6-v2).")
    var textEncoder: TextEncoderChoice = .hashing

    @Option(help: "Cover encoder: grid (no files) or efficientnet (pretrained EfficientNet-Lite0).")
    var coverEncoder: CoverEncoderChoice = .grid

    @Option(help: "Training objective: bpr (ranking) or mse (the original design's rating loss).")
    var objective: Objective = .bpr

    @Option(help: "Training epochs.")
    var epochs = ModelConfiguration().epochs

    @Option(help: "Width d of t′ and v′ (the first d/2 item factors carry the text).")
    var fusedDimension = ModelConfiguration().fusedDimension

    @Option(help: "Width k of reader and item vectors.")
    var factors = ModelConfiguration().factors

    @Option(help: "Seed of initialisation and sampling.")
    var seed = ModelConfiguration().seed

    @Option(help: "Books per encode job.")
    var encodeShardSize = RunConfiguration().encodeShardSize

    @Option(help: "Readers or books per train job (a slice of one iALS round).")
    var trainShardSize = RunConfiguration().trainShardSize

    @Option(help: "Readers per score job.")
    var scoreShardSize = RunConfiguration().scoreShardSize

    @Option(help: "Books stored per reader (the most `export -k` can show).")
    var topK = RunConfiguration().storedTopK

    /// Every number is checked before anything runs: a bad one would otherwise fail, or crash,
    /// only in the phase that uses it.
    func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more (got \(epochs))") }
        guard fusedDimension >= 2, fusedDimension % 2 == 0 else {
            throw ValidationError("--fused-dimension must be an even number of at least 2 (got \(fusedDimension))")
        }
        guard factors >= fusedDimension / 2 else {
            throw ValidationError("--factors must be at least half of --fused-dimension, \(fusedDimension / 2) (got \(factors))")
        }
        for (name, value) in [("--encode-shard-size", encodeShardSize), ("--train-shard-size", trainShardSize), ("--score-shard-size", scoreShardSize), ("--top-k", topK)] {
            guard value >= 1 else { throw ValidationError("\(name) must be at least 1 (got \(value))") }
        }
    }

    func run() throws {
        try startCoordinator(metricsOptions)
        try withCoordinatorLock(storeOptions) { store in
            var configuration = RunConfiguration()
            configuration.textEncoder = textEncoder
            configuration.coverEncoder = coverEncoder
            configuration.model.objective = objective
            configuration.model.epochs = epochs
            configuration.model.seed = seed
            configuration.model.fusedDimension = fusedDimension
            configuration.model.factors = factors
            configuration.encodeShardSize = encodeShardSize
            configuration.trainShardSize = trainShardSize
            configuration.scoreShardSize = scoreShardSize
            configuration.storedTopK = topK
            let runner = try makeRunner(store: store, queue: queueOptions, models: modelsOptions, configuration: configuration)
            let (generation, timings) = try runner.run()
            print(String(
                format: "generation %d active: encode %.1f s, train %.1f s, score %.1f s, total %.1f s",
                generation, timings.encode, timings.train, timings.score, timings.total))
        }
    }
}

extension TextEncoderChoice: ExpressibleByArgument {}
extension CoverEncoderChoice: ExpressibleByArgument {}
extension Objective: ExpressibleByArgument {}

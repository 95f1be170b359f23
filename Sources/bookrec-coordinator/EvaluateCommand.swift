import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecData
import BookrecEvaluation
import BookrecImaging
import BookrecPipeline
import Foundation

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Offline evaluation in one process: warm, cold and RMSE protocols against the baselines.",
        discussion: "Carves the split from the data with a fixed seed and prints the Markdown table of docs/EVALUATION.md.")

    @Option(help: ArgumentHelp("Folder in the goodbooks layout.", valueName: "dir"))
    var data = "data/goodbooks"

    @Option(help: "Seed of the split and of every model.")
    var seed: UInt64 = 2024

    @Flag(help: "Train for a few epochs only: a smoke run, not figures to report.")
    var quick = false

    @Flag(help: "Only bookrec's main model and the content-only profile (no other baselines, no ablation), for quick iterations.")
    var mainModelOnly = false

    @Option(help: "Score only the first N test readers of each protocol, for quick iterations.")
    var testReaderLimit: Int?

    @Option(help: "Norm of a reader's content factors at the start of training.")
    var profileScale = ModelConfiguration().profileScale

    @Option(help: "Norm of a reader's collaborative factors at the start of training.")
    var collaborativeScale = ModelConfiguration().collaborativeScale

    @Option(help: "Weight of the item-item term in the logit (chosen on validation among 8, 16 and 32 unless given or --main-model-only).")
    var itemItemWeight: Float?

    @Option(help: "Item-item weights kept per book.")
    var itemItemKept = ItemItemConfiguration().keptWeights

    @Option(help: "Share of its neighbours' item-item scores a book without training ratings takes.")
    var itemItemUnratedShare = ItemItemConfiguration().unratedShare

    @Option(help: "Rated books, nearest by content, that place a book without ratings.")
    var placementNeighbours = ContentPlacement().neighbours

    @Option(help: "μ of the kernel ridge regression that weighs those neighbours.")
    var placementRidge = ContentPlacement().ridge

    @Option(help: "Passes of per-example SGD over reader and residual rows per epoch.")
    var sparsePasses = ModelConfiguration().sparsePasses

    @Option(help: "SGD rate of reader vectors and residuals.")
    var sparseLearningRate = ModelConfiguration().sparseLearningRate

    @Flag(help: "Only random, the content-only profile and bookrec with text only, cover only and fused: the rows that compare encoders.")
    var modalitiesOnly = false

    @Option(help: "Training epochs of bookrec's models; the full run chooses between half of them and all on validation.")
    var epochs = ModelConfiguration().epochs

    @Option(help: "Training examples per batch.")
    var batchSize = ModelConfiguration().batchSize

    @Option(help: "Width d of t′ and v′.")
    var fusedDimension = ModelConfiguration().fusedDimension

    @Option(help: "Width k of reader and item vectors.")
    var factors = ModelConfiguration().factors

    @Option(help: "L2 penalty on reader vectors.")
    var readerRegularization = ModelConfiguration().readerRegularization

    @Option(help: "L2 penalty on the books' collaborative residuals.")
    var residualRegularization = ModelConfiguration().residualRegularization

    @Option(help: "L2 penalty on the dense weights (W_t, W_v, P).")
    var weightRegularization = ModelConfiguration().weightRegularization

    @Option(help: "Probability that a training example leaves out the books' residuals.")
    var residualDropout = ModelConfiguration().residualDropout

    @Option(help: "Adam learning rate.")
    var learningRate = ModelConfiguration().learningRate

    @Option(help: "Text encoder: hashing or minilm.")
    var textEncoder: TextEncoderChoice = .hashing

    @Option(help: "Cover encoder: grid or efficientnet.")
    var coverEncoder: CoverEncoderChoice = .grid

    @OptionGroup var modelsOptions: ModelsOptions

    @Option(help: ArgumentHelp("Also write the table to this file.", valueName: "path"))
    var output: String?

    func validate() throws {
        guard placementNeighbours >= 1 else { throw ValidationError("--placement-neighbours must be at least 1 (got \(placementNeighbours))") }
        guard placementRidge > 0 else { throw ValidationError("--placement-ridge must be positive (got \(placementRidge))") }
    }

    func run() throws {
        setBLASThreads(1)
        printError("coordinator: \(BLASKernels.current)")
        let catalog = GoodbooksLoader(directory: URL(fileURLWithPath: data)).load()
        if !catalog.problems.isEmpty {
            printError("\(catalog.problems.count) rows or files skipped:")
            reportProblems(catalog.problems)
        }
        var experiment = Experiment()
        experiment.seed = seed
        experiment.quick = quick
        experiment.mainModelOnly = mainModelOnly
        experiment.modalitiesOnly = modalitiesOnly
        experiment.testReaderLimit = testReaderLimit
        experiment.base.profileScale = profileScale
        experiment.base.collaborativeScale = collaborativeScale
        experiment.base.itemItem?.keptWeights = itemItemKept
        experiment.base.itemItem?.unratedShare = itemItemUnratedShare
        if let itemItemWeight {
            experiment.base.itemItem?.scale = itemItemWeight
            experiment.fixedItemItemScale = true
        }
        experiment.placement.neighbours = placementNeighbours
        experiment.placement.ridge = placementRidge
        experiment.base.sparsePasses = sparsePasses
        experiment.base.sparseLearningRate = sparseLearningRate
        experiment.base.epochs = epochs
        experiment.base.fusedDimension = fusedDimension
        experiment.base.batchSize = batchSize
        experiment.base.factors = factors
        experiment.base.readerRegularization = readerRegularization
        experiment.base.residualRegularization = residualRegularization
        experiment.base.learningRate = learningRate
        experiment.base.residualDropout = residualDropout
        experiment.base.weightRegularization = weightRegularization
        experiment.log = { printError($0) }
        let features = try encode(catalog)
        let report = try experiment.run(
            catalog: catalog, text: features.text, cover: features.cover, encoders: "\(textEncoder.rawValue) text, \(coverEncoder.rawValue) covers")
        print(report.markdown)
        if let output { try report.markdown.write(toFile: output, atomically: true, encoding: .utf8) }
    }

    /// Encoder outputs for every book of the catalog, with the chosen encoders.
    private func encode(_ catalog: CatalogImport) throws -> (text: Matrix, cover: Matrix) {
        let started = Date()
        let text: Matrix
        switch textEncoder {
        case .hashing: text = Experiment.hashedText(catalog: catalog)
        case .minilm: text = try PretrainedEncoders.text(modelsDirectory: modelsOptions.directory).encode(catalog.books.map(\.text))
        }
        let cover: Matrix
        switch coverEncoder {
        case .grid:
            let grid = GridCoverEncoder()
            cover = try Experiment.coverFeatures(catalog: catalog, dimension: grid.dimension) { grid.vector(for: $0) }
        case .efficientnet:
            let network = try PretrainedEncoders.cover(modelsDirectory: modelsOptions.directory)
            cover = try Experiment.coverFeatures(catalog: catalog, dimension: network.dimension) { try network.encode([$0]).row(0) }
        }
        printError(String(format: "encoded %d books in %.0f s", catalog.books.count, Date().timeIntervalSince(started)))
        return (text, cover)
    }
}

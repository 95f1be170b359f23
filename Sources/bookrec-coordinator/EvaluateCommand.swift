import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecData
import BookrecEvaluation
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

    @Flag(help: "Only bookrec's main model (no baselines, no ablation), for quick iterations.")
    var mainModelOnly = false

    @Option(help: "Training epochs of bookrec's models.")
    var epochs = ModelConfiguration().epochs

    @Option(help: "Width d of t′ and v′.")
    var fusedDimension = ModelConfiguration().fusedDimension

    @Option(help: ArgumentHelp("Also write the table to this file.", valueName: "path"))
    var output: String?

    func run() throws {
        setBLASThreads(1)
        let catalog = GoodbooksLoader(directory: URL(fileURLWithPath: data)).load()
        if !catalog.problems.isEmpty {
            printError("\(catalog.problems.count) rows or files skipped:")
            reportProblems(catalog.problems)
        }
        var experiment = Experiment()
        experiment.seed = seed
        experiment.quick = quick
        experiment.mainModelOnly = mainModelOnly
        experiment.base.epochs = epochs
        experiment.base.fusedDimension = fusedDimension
        experiment.log = { printError($0) }
        let report = try experiment.run(catalog: catalog)
        print(report.markdown)
        if let output { try report.markdown.write(toFile: output, atomically: true, encoding: .utf8) }
    }
}

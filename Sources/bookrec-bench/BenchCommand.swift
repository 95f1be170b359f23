import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bookrec-bench",
        abstract: "Benchmarks; every figure is printed as a ratio to a baseline measured in the same run.",
        subcommands: [KernelsBenchmark.self, ScoringBenchmark.self, TrainingBenchmark.self, ImplicitALSBenchmark.self, TextEncoderBenchmark.self, CoverEncoderBenchmark.self, QueryBenchmark.self, HTTPBenchmark.self])
}

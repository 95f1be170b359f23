import ArgumentParser
import BookrecCore
import Foundation

/// The sgemm rate of the kernel set bookrec runs with no variable set, against every OpenBLAS
/// kernel set this CPU can run, chosen by hand with OPENBLAS_CORETYPE. OpenBLAS reads that
/// variable once, when it loads, so each measurement runs in a child process; the children run
/// in interleaved rounds and each set keeps its median, so that a noisy neighbour slows all alike.
struct KernelsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "The automatic kernel set's sgemm rate as a fraction of the best kernel set selectable by hand.")

    @Option(help: "Seconds to spend on each measurement.") var seconds = 1.0
    @Option(help: "Rounds over all kernel sets.") var rounds = 3
    @Flag(help: "Print only this process's single-thread sgemm rate in GFLOP/s (what each child runs).")
    var rateOnly = false

    func validate() throws {
        guard seconds > 0, rounds >= 1 else { throw ValidationError("--seconds must be positive and --rounds at least 1") }
    }

    func run() throws {
        if rateOnly {
            print(singleThreadSgemmGFLOPS(seconds: seconds))
            return
        }
        var environment = ProcessInfo.processInfo.environment
        if let own = environment.removeValue(forKey: "OPENBLAS_CORETYPE") {
            print("OPENBLAS_CORETYPE=\(own) is ignored here: the automatic choice is measured without it")
        }
        print("automatic choice: \(BLASKernels.forThisCPU.map { "\($0), from the CPU's features" } ?? "left to OpenBLAS's detection")")
        let candidates: [String?] = [nil] + BLASKernels.x86KernelSets.filter(BLASKernels.cpuCanRun)
        var rates = [[Double]](repeating: [], count: candidates.count)
        for _ in 0..<rounds {
            for (index, kernelSet) in candidates.enumerated() {
                rates[index].append(try childRate(kernelSet: kernelSet, environment: environment))
            }
        }
        let medians = rates.map { $0.sorted()[$0.count / 2] }
        for (kernelSet, median) in zip(candidates, medians) {
            let label = kernelSet.map { "OPENBLAS_CORETYPE=\($0)" } ?? "no variable (automatic)"
            print(label.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%6.1f GFLOP/s", median))
        }
        guard let bestByHand = medians.indices.dropFirst().max(by: { medians[$0] < medians[$1] }) else {
            print("no OpenBLAS x86-64 kernel set runs on this CPU; nothing to compare with")
            return
        }
        print(String(format: "automatic / best by hand (%@): %.2f", candidates[bestByHand]!, medians[0] / medians[bestByHand]))
    }

    private func childRate(kernelSet: String?, environment: [String: String]) throws -> Double {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["kernels", "--rate-only", "--seconds", String(seconds)]
        var environment = environment
        environment["OPENBLAS_CORETYPE"] = kernelSet
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        guard child.terminationStatus == 0, let rate = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("the child with OPENBLAS_CORETYPE=\(kernelSet ?? "") failed (status \(child.terminationStatus)): \(text)")
        }
        return rate
    }
}

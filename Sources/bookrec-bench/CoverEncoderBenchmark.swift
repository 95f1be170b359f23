import ArgumentParser
import BookrecCore
import BookrecEfficientNet
import BookrecImaging
import COpenBLAS
import Foundation

/// Measures the EfficientNet-Lite0 cover encoder, the network alone and end to end from image
/// files, and sets it against this machine's own single-thread sgemm speed.
struct CoverEncoderBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cover-encoder",
        abstract: "Covers per second of the EfficientNet-Lite0 encoder on 1 and 2 threads, against peak sgemm.")

    @Option(help: "The EfficientNet-Lite0 weight file (legacy PyTorch .pth).")
    var weights = "models/efficientnet/efficientnet-lite0.pth"

    @Option(help: "Folder of cover images (JPEG or PNG); the first files by name are used.")
    var covers = "data/goodbooks/covers"

    @Option(help: "Covers per round.")
    var count = 32

    @Option(help: "Images per forward pass.")
    var batch = 2

    @Option(help: "Seconds to spend on each measurement.")
    var seconds = 2.0

    func run() throws {
        let loadStart = Date()
        let encoder = try EfficientNetEncoder(weights: Data(contentsOf: URL(fileURLWithPath: weights)), chunkSize: batch)
        print(String(format: "model loaded in %.2f s", Date().timeIntervalSince(loadStart)))

        let peak = sgemmPeakGFLOPS(seconds: seconds)

        let files = try coverFiles()
        let images = try files.map { try ImageDecoder().decode(contentsOf: $0) }
        let input = try CoverPreprocessing.inputTensor(for: images)
        let flopsPerCover = 2 * Double(encoder.network.multiplyAddsPerImage)
        print(String(format: "%d covers from %@, %.2f GFLOP each", files.count, covers, flopsPerCover / 1e9))
        print("")
        print("workload                         threads  covers/s  ms/cover  GFLOP/s  of sgemm/thread")

        /// One line of the table; `network` says whether the workload runs the network, whose
        /// arithmetic the GFLOP/s columns count.
        func report(_ name: String, threads: Int, network: Bool = true, seconds perRound: Double) {
            let perCover = perRound / Double(files.count)
            let gflops = flopsPerCover / perCover / 1e9
            let arithmetic = network ? String(format: "%8.1f %9.0f%%", gflops, 100 * gflops / (peak * Double(threads))) : "       -          -"
            print(
                name.padding(toLength: 33, withPad: " ", startingAt: 0)
                    + String(format: "%7d %9.1f %9.2f ", threads, 1 / perCover, perCover * 1000) + arithmetic)
        }

        let network = encoder.network
        let imageSize = 3 * EfficientNetLite0.inputSize * EfficientNetLite0.inputSize
        /// The network over images `range` of the preprocessed input, `batch` at a time.
        func runNetwork(_ range: Range<Int>) {
            for start in stride(from: range.lowerBound, to: range.upperBound, by: batch) {
                let end = min(start + batch, range.upperBound)
                _ = network.features(of: Array(input[start * imageSize..<end * imageSize]), count: end - start)
            }
        }
        /// Reading, decoding, preprocessing and encoding the files of `range`.
        func runFromFiles(_ range: Range<Int>) throws {
            _ = try encoder.encode(files[range].map { try ImageDecoder().decode(Data(contentsOf: $0)) })
        }

        setBLASThreads(1)
        report("resize, crop, normalise only", threads: 1, network: false, seconds: try measure { _ = try CoverPreprocessing.inputTensor(for: images) })
        report("network, batch of \(batch)", threads: 1, seconds: measure { runNetwork(0..<files.count) })
        report("network, one at a time", threads: 1, seconds: measure { for index in files.indices { runNetwork(index..<index + 1) } })
        report("from files", threads: 1, seconds: try measure { try runFromFiles(files.indices) })

        setBLASThreads(2)
        report("network, 2 BLAS threads", threads: 2, seconds: measure { runNetwork(0..<files.count) })
        setBLASThreads(1)
        let halves = [0..<files.count / 2, files.count / 2..<files.count]
        report("network, batch split on 2", threads: 2, seconds: measure { DispatchQueue.concurrentPerform(iterations: 2) { runNetwork(halves[$0]) } })
        report("from files, split on 2", threads: 2, seconds: try measure {
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 2) { half in
                do { try runFromFiles(halves[half]) } catch { failures.record(error) }
            }
            try failures.rethrow()
        })
    }

    private func coverFiles() throws -> [URL] {
        let folder = URL(fileURLWithPath: covers)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }
            .sorted()
        guard names.count >= count, count >= 2 else {
            throw ValidationError("need at least \(max(count, 2)) covers in \(folder.path), found \(names.count)")
        }
        return names.prefix(count).map { folder.appendingPathComponent($0) }
    }

    private func measure(_ body: () throws -> Void) rethrows -> Double {
        try medianSeconds(minimumRounds: 3, seconds: seconds, body)
    }

}

/// The first error thrown on any of the worker threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?

    func record(_ error: Error) {
        lock.withLock { if first == nil { first = error } }
    }

    func rethrow() throws {
        if let error = lock.withLock({ first }) { throw error }
    }
}

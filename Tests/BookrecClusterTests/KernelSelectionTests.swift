import BookrecCore
import Foundation
import XCTest

/// Each executable chooses its OpenBLAS kernels before the library loads, and a user's
/// OPENBLAS_CORETYPE still wins: seen in the line the worker logs at start.
final class KernelSelectionTests: XCTestCase {
    private func workerKernelLine(coreType: String?) throws -> String {
        let process = Process()
        process.executableURL = TestCluster.binaries.appendingPathComponent("bookrec-worker")
        process.arguments = ["embed", "--encoder", "hashing", "--text", "a book"]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = coreType
        process.environment = environment
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        return try XCTUnwrap(text.split(separator: "\n").first { $0.contains("kernels") }.map(String.init), text)
    }

    func testWithoutTheVariableTheWorkerRunsTheKernelsOfItsCPU() throws {
        let chosen = try XCTUnwrap(BLASKernels.forThisCPU, "this CPU has no AVX; OpenBLAS decides alone")
        XCTAssertEqual(try workerKernelLine(coreType: nil), "worker: OpenBLAS \(chosen) kernels (chosen from the CPU's features)")
    }

    func testTheUsersVariableWins() throws {
        // A slower set than the automatic one, so that the line cannot be the automatic choice.
        XCTAssertEqual(try workerKernelLine(coreType: "Nehalem"), "worker: OpenBLAS Nehalem kernels (OPENBLAS_CORETYPE from the environment)")
    }
}

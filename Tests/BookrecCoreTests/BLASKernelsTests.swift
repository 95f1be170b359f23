import BookrecCore
import Foundation
import XCTest

final class BLASKernelsTests: XCTestCase {
    func testThisProcessRunsTheKernelsChosenFromTheCPUFeatures() throws {
        if let own = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !own.isEmpty {
            throw XCTSkip("OPENBLAS_CORETYPE=\(own) is set, so the automatic choice is not in play")
        }
        let kernels = BLASKernels.current
        guard let chosen = BLASKernels.forThisCPU else {
            XCTAssertEqual(kernels.origin, .openBLASDetection)
            return
        }
        XCTAssertEqual(kernels.origin, .cpuFeatures)
        XCTAssertEqual(kernels.name, chosen, "OpenBLAS runs \(kernels.name), bookrec chose \(chosen)")
        XCTAssertTrue(BLASKernels.cpuCanRun(chosen))
    }

    func testTheChoiceIsTheWidestKernelSetTheCPUCanRun() throws {
        guard let chosen = BLASKernels.forThisCPU else { throw XCTSkip("no AVX on this CPU") }
        // Cooperlake differs from SkylakeX only in bf16 kernels, which bookrec never calls.
        let widest = ["SkylakeX", "Haswell", "Sandybridge"].first(where: BLASKernels.cpuCanRun)
        if widest == "Haswell" {
            XCTAssertTrue(["Haswell", "Zen"].contains(chosen), chosen)
        } else {
            XCTAssertEqual(chosen, widest)
        }
    }

    func testUnknownKernelSetsAreNotRunnable() {
        XCTAssertFalse(BLASKernels.cpuCanRun("NoSuchCore"))
        XCTAssertFalse(BLASKernels.cpuCanRun(""))
    }
}

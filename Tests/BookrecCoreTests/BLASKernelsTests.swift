import BookrecCore
import Foundation
import XCTest

final class BLASKernelsTests: XCTestCase {
    func testThisProcessRunsTheKernelsChosenFromTheCPUFeatures() throws {
        // The loader itself sets OPENBLAS_CORETYPE once it has chosen, so the variable tells
        // nothing here; the recorded origin does. KernelSelectionTests checks a fresh process.
        let kernels = BLASKernels.current
        if kernels.origin == .environment {
            throw XCTSkip("the tests run with the user's OPENBLAS_CORETYPE, so the automatic choice is not in play")
        }
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

import Foundation
import XCTest

@testable import BookrecMiniLM

final class VectorMathTests: XCTestCase {
    /// Every value on a grid of step 1/4096 over [−6, 6] (beyond ±4 erf is ±1 in float32).
    func testErfIsWithinFourTenthsOfAMillionthOfErf() {
        let (worst, worstAt) = Self.worstError(from: -6 * 4096, to: 6 * 4096, step: 4096, VectorMath.erf) { x, y in
            abs(y - Foundation.erf(x))
        }
        XCTAssertLessThanOrEqual(worst, 4e-7, "worst at \(worstAt)")
    }

    /// Relative error against exp in Double over the range a softmax meets, and the clamp below.
    func testExpIsWithinThreeUlpsOfExp() {
        let (worst, worstAt) = Self.worstError(from: -87 * 512, to: 88 * 512, step: 512, VectorMath.exp) { x, y in
            abs(y - Foundation.exp(x)) / Foundation.exp(x)
        }
        XCTAssertLessThanOrEqual(worst, 3 * Double(Float.ulpOfOne), "worst at \(worstAt)")
        let farBelow = VectorMath.exp(VectorMath.Lanes(repeating: -1_000))
        XCTAssertTrue(farBelow.indices.allSatisfy { farBelow[$0] >= 0 && farBelow[$0] < 1e-37 })
        XCTAssertEqual(VectorMath.exp(VectorMath.Lanes(repeating: 0)), VectorMath.Lanes(repeating: 1))
    }

    /// The largest `error(x, f(x))` over x = i / step for i in [from, to), and where it is.
    private static func worstError(
        from: Int, to: Int, step: Int, _ function: (VectorMath.Lanes) -> VectorMath.Lanes,
        error: (Double, Double) -> Double
    ) -> (Double, Float) {
        var worst = (0.0, Float(0))
        for start in stride(from: from, to: to, by: 8) {
            let x = VectorMath.Lanes((0..<8).map { Float(start + $0) / Float(step) })
            let y = function(x)
            for lane in 0..<8 {
                let e = error(Double(x[lane]), Double(y[lane]))
                if e > worst.0 { worst = (e, x[lane]) }
            }
        }
        return worst
    }

    /// A value's result does not depend on where it sits: in a full group, in the padded last
    /// group, or alone.
    func testTransformGivesEachElementTheSameResultWherever() {
        let values = (0..<29).map { Float($0) * 0.37 - 5 }
        var together = values
        together.withUnsafeMutableBufferPointer { VectorMath.transform($0.baseAddress!, count: $0.count, VectorMath.erf) }
        for (index, value) in values.enumerated() {
            var alone = [value]
            alone.withUnsafeMutableBufferPointer { VectorMath.transform($0.baseAddress!, count: 1, VectorMath.erf) }
            XCTAssertEqual(together[index], alone[0], "element \(index)")
            XCTAssertEqual(Double(alone[0]), Foundation.erf(Double(value)), accuracy: 4e-7)
        }
    }
}

import Foundation
import XCTest

import BookrecCore

final class VectorMathTests: XCTestCase {
    /// Every value on a grid of step 1/4096 over [−6, 6] (beyond ±4 erf is ±1 in float32).
    func testErfIsWithinFourTenthsOfAMillionthOfErf() {
        let (worst, worstAt) = Self.worstError(from: -6 * 4096, to: 6 * 4096, step: 4096, erf8) { x, y in
            abs(y - Foundation.erf(x))
        }
        XCTAssertLessThanOrEqual(worst, 4e-7, "worst at \(worstAt)")
    }

    /// Relative error against exp in Double over the range a softmax meets, and the clamp below.
    func testExpIsWithinThreeUlpsOfExp() {
        let (worst, worstAt) = Self.worstError(from: -87 * 512, to: 88 * 512, step: 512, exp8) { x, y in
            abs(y - Foundation.exp(x)) / Foundation.exp(x)
        }
        XCTAssertLessThanOrEqual(worst, 3 * Double(Float.ulpOfOne), "worst at \(worstAt)")
        let farBelow = exp8(SIMD8<Float>(repeating: -1_000))
        XCTAssertTrue(farBelow.indices.allSatisfy { farBelow[$0] >= 0 && farBelow[$0] < 1e-37 })
        XCTAssertEqual(exp8(SIMD8<Float>(repeating: 0)), SIMD8<Float>(repeating: 1))
    }

    /// Against a softmax in Double, for a length that leaves a padded tail.
    func testSoftmaxMatchesOneInDouble() {
        var values = (0..<29).map { Float($0 % 7) * 1.3 - Float($0) * 0.21 }
        let exponentials = values.map { Foundation.exp(Double($0)) }
        let total = exponentials.reduce(0, +)
        values.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: $0.count) }
        for (index, value) in values.enumerated() {
            XCTAssertEqual(Double(value), exponentials[index] / total, accuracy: 1e-7, "element \(index)")
        }
    }

    /// The largest `error(x, f(x))` over x = i / step for i in [from, to), and where it is.
    private static func worstError(
        from: Int, to: Int, step: Int, _ function: (SIMD8<Float>) -> SIMD8<Float>,
        error: (Double, Double) -> Double
    ) -> (Double, Float) {
        var worst = (0.0, Float(0))
        for start in stride(from: from, to: to, by: 8) {
            let x = SIMD8<Float>((0..<8).map { Float(start + $0) / Float(step) })
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
        together.withUnsafeMutableBufferPointer { transformInLanes($0.baseAddress!, count: $0.count, erf8) }
        for (index, value) in values.enumerated() {
            var alone = [value]
            alone.withUnsafeMutableBufferPointer { transformInLanes($0.baseAddress!, count: 1, erf8) }
            XCTAssertEqual(together[index], alone[0], "element \(index)")
            XCTAssertEqual(Double(alone[0]), Foundation.erf(Double(value)), accuracy: 4e-7)
        }
    }

    /// Against sums in Double, for lengths with and without a tail past the lanes; the known
    /// maximum gives the softmax the pass would have found.
    func testDotProductAddScaledAndAKnownMaximumAgreeWithPlainArithmetic() {
        for count in [0, 1, 7, 8, 15, 16, 17, 40, 130] {
            let a = (0..<count).map { Float(($0 * 37) % 11) * 0.13 - 0.6 }
            let b = (0..<count).map { Float(($0 * 17) % 7) * 0.29 - 1 }
            let dot = a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in dotProduct(a.baseAddress!, b.baseAddress!, count: count) } }
            XCTAssertEqual(Double(dot), zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }, accuracy: 1e-5, "dot of \(count)")
            var target = b
            target.withUnsafeMutableBufferPointer { target in a.withUnsafeBufferPointer { addScaled(target.baseAddress!, 1.5, $0.baseAddress!, count: count) } }
            XCTAssertEqual(target, zip(a, b).map { $1 + 1.5 * $0 }, "axpy of \(count)")
            guard count > 0 else { continue }
            var found = a, known = a
            found.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count) }
            known.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count, knownMaximum: a.max()!) }
            XCTAssertEqual(found, known, "softmax of \(count)")
        }
    }
}

import BookrecCore
import XCTest

final class CoAttentionTests: XCTestCase {
    /// The corrected worked example of the original design document, to 1e-4.
    func testReproducesTheCorrectedWorkedExample() {
        let pair = CoAttention(text: [0.3, 0.7, 0.1], cover: [0.5, 0.2, 0.8])
        let textToCover: [Float] = [0.3324, 0.3038, 0.3637, 0.3285, 0.2663, 0.4052, 0.3332, 0.3234, 0.3434]
        let coverToText: [Float] = [0.3199, 0.3907, 0.2894, 0.3285, 0.3559, 0.3156, 0.3097, 0.4265, 0.2639]
        assertClose(pair.textToCover, textToCover, tolerance: 1e-4)
        assertClose(pair.coverToText, coverToText, tolerance: 1e-4)
        assertClose(pair.fusedText, [0.7696, 1.1879, 0.5512], tolerance: 1e-4)
        assertClose(pair.fusedCover, [0.8630, 0.5099, 1.2271], tolerance: 1e-4)
        XCTAssertEqual(pair.fused.count, 6)
    }

    func testAttentionRowsAreDistributions() {
        let pair = CoAttention(text: [5, -3, 40, 0], cover: [60, 2, -1, 7])
        for row in 0..<4 {
            XCTAssertEqual(pair.textToCover[(row * 4)..<(row * 4 + 4)].reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(pair.coverToText[(row * 4)..<(row * 4 + 4)].reduce(0, +), 1, accuracy: 1e-5)
        }
        XCTAssertFalse(pair.fused.contains { !$0.isFinite }, "large scores must not overflow the softmax")
    }

    /// A book without a cover has v′ = 0: S = 0, every attention weight is 1/d.
    func testZeroCoverAttendsUniformly() {
        let pair = CoAttention(text: [0.3, 0.7, 0.1, 0.45], cover: [0, 0, 0, 0])
        XCTAssertTrue(pair.isUniform)
        assertClose(pair.textToCover, [Float](repeating: 0.25, count: 16), tolerance: 1e-7)
        assertClose(pair.fusedText, [0.3, 0.7, 0.1, 0.45], tolerance: 1e-7)
        assertClose(pair.fusedCover, [Float](repeating: 0.3875, count: 4), tolerance: 1e-6)
        XCTAssertFalse(CoAttention(text: [0.3, 0.7, 0.1, 0.45], cover: [0, 0, 1e-3, 0]).isUniform)
    }

    /// Fusing without keeping the attention matrices gives the same h_b bit for bit.
    func testFusingWithoutTheMatricesMatchesTheFullPass() {
        var generator = SeededGenerator(seed: 9)
        for d in [3, 8, 37] {
            let text = (0..<d).map { _ in max(generator.nextGaussian(), 0) }
            let cover = (0..<d).map { _ in max(generator.nextGaussian() * 2, 0) }
            XCTAssertEqual(CoAttention.fused(text: text, cover: cover), CoAttention(text: text, cover: cover).fused, "d = \(d)")
            XCTAssertEqual(CoAttention.fused(text: text, cover: [Float](repeating: 0, count: d)), CoAttention(text: text, cover: [Float](repeating: 0, count: d)).fused)
        }
        assertClose(CoAttention.fused(text: [0.3, 0.7, 0.1], cover: [0.5, 0.2, 0.8]), [0.7696, 1.1879, 0.5512, 0.8630, 0.5099, 1.2271], tolerance: 1e-4)
    }

    func testBackwardMatchesFiniteDifferences() {
        checkBackward(text: [0.3, 0.7, 0.1, 0.45], cover: [0.5, 0.2, 0.8, 0.05])
    }

    func testUniformBackwardMatchesFiniteDifferences() {
        checkBackward(text: [0.3, 0.7, 0.1, 0.45], cover: [0, 0, 0, 0])
        checkBackward(text: [0, 0, 0, 0], cover: [0.5, 0.2, 0.8, 0.05])
    }

    func checkBackward(text: [Float], cover: [Float]) {
        // L = a·t_fused + b·v_fused for fixed a, b makes dL/dt_fused = a, dL/dv_fused = b.
        let a: [Float] = [0.2, -0.4, 0.9, 0.1]
        let b: [Float] = [-0.3, 0.6, 0.25, -0.8]
        func loss(_ t: [Float], _ v: [Float]) -> Double {
            let pair = CoAttention(text: t, cover: v)
            return zip(pair.fusedText, a).reduce(0) { $0 + Double($1.0 * $1.1) } + zip(pair.fusedCover, b).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        let (gradText, gradCover) = CoAttention(text: text, cover: cover).backward(fusedTextGradient: a, fusedCoverGradient: b)
        let h: Float = 1e-3
        for i in 0..<4 {
            var plus = text, minus = text
            plus[i] += h
            minus[i] -= h
            XCTAssertEqual(Double(gradText[i]), (loss(plus, cover) - loss(minus, cover)) / Double(2 * h), accuracy: 2e-3, "dL/dt′[\(i)]")
            plus = cover
            minus = cover
            plus[i] += h
            minus[i] -= h
            XCTAssertEqual(Double(gradCover[i]), (loss(text, plus) - loss(text, minus)) / Double(2 * h), accuracy: 2e-3, "dL/dv′[\(i)]")
        }
    }
}

func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        XCTAssertEqual(a, e, accuracy: tolerance, "index \(i)", file: file, line: line)
    }
}

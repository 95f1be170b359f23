import XCTest

@testable import BookrecCore

final class OrthogonalizationTests: XCTestCase {
    /// 150 columns cross two blocks of 64 and a partial one; column 100 is zero and must stay so,
    /// the others must come out orthonormal with the same span.
    func testColumnsComeOutOrthonormalWithTheSameSpanAndAZeroColumnStaysZero() {
        var generator = SeededGenerator(seed: 11)
        let n = 300, r = 150
        var m = Matrix(rows: n, columns: r, values: (0..<(n * r)).map { _ in generator.nextGaussian() })
        for i in 0..<n { m[i, 100] = 0 }
        let q = orthonormalColumns(m)

        let gram = multiply(q, transposeA: true, q)
        for a in 0..<r {
            for b in 0..<r {
                let expected: Float = a == b && a != 100 ? 1 : 0
                XCTAssertEqual(gram[a, b], expected, accuracy: 1e-5, "column \(a) · column \(b)")
            }
        }
        // Every input column lies in the span of the output: Q Qᵀ M = M.
        let reconstructed = multiply(q, multiply(q, transposeA: true, m))
        for i in stride(from: 0, to: n * r, by: 7) {
            XCTAssertEqual(reconstructed.values[i], m.values[i], accuracy: 1e-4)
        }
    }
}

@testable import BookrecCore
import XCTest

final class ContentStartTests: XCTestCase {
    /// Three groups of readers, each liking the books strong in one of three buckets, over texts
    /// that also carry noise in nine other buckets: every profile lies near a 3-dimensional
    /// subspace, which three principal directions must keep and three random ones cannot.
    func testPrincipalDirectionsKeepTheReadersProfiles() {
        var generator = SeededGenerator(seed: 11)
        let books = 90, dimension = 12, groups = 3
        var text = Matrix(rows: books, columns: dimension)
        for b in 0..<books {
            var row = [Float](repeating: 0, count: dimension)
            row[b % groups] = 1
            for j in groups..<dimension { row[j] = Float.random(in: 0..<0.3, using: &generator) }
            normalize(&row)
            text.setRow(b, row)
        }
        let sparse = SparseRows(text)
        let likedBooks = (0..<60).map { reader in (0..<books).filter { $0 % groups == reader % groups && ($0 + reader) % 4 != 0 } }
        let directions = principalProfileDirections(text: sparse, likedBooks: likedBooks, rank: groups, generator: &generator)
        XCTAssertEqual(directions.rows, groups)
        XCTAssertEqual(directions.columns, dimension)

        // Rows are orthogonal with one common norm, and books' projections have mean squared norm 1.
        let gram = multiply(directions, directions, transposeB: true)
        for i in 0..<groups {
            for j in 0..<groups where i != j { XCTAssertEqual(gram[i, j], 0, accuracy: 1e-4 * gram[0, 0]) }
            XCTAssertEqual(gram[i, i], gram[0, 0], accuracy: 1e-4 * gram[0, 0])
        }
        let projected = multiply(text, directions, transposeB: true)
        XCTAssertEqual(projected.values.reduce(0) { $0 + $1 * $1 } / Float(books), 1, accuracy: 1e-3)

        // The share of the profiles' energy that the projection loses.
        func lostShare(_ g: Matrix) -> Float {
            let orthonormal = orthonormalColumns(g.transposed)  // dimension × m
            var lost: Float = 0, total: Float = 0
            for liked in likedBooks {
                var profile = [Float](repeating: 0, count: dimension)
                for b in liked { sparse.add(row: b, into: &profile) }
                normalize(&profile)
                let u = Matrix(rows: 1, columns: dimension, values: profile)
                let kept = multiply(multiply(u, orthonormal), orthonormal, transposeB: true)
                for j in 0..<dimension {
                    lost += (profile[j] - kept[0, j]) * (profile[j] - kept[0, j])
                    total += profile[j] * profile[j]
                }
            }
            return lost / total
        }
        let random = Matrix(rows: groups, columns: dimension, values: (0..<(groups * dimension)).map { _ in generator.nextGaussian() })
        let principalLoss = lostShare(directions), randomLoss = lostShare(random)
        print("profile energy lost: principal directions \(principalLoss), random ones \(randomLoss)")
        XCTAssertLessThan(principalLoss, 0.01)
        XCTAssertGreaterThan(randomLoss, 0.1)
    }
}

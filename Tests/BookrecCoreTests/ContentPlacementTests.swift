@testable import BookrecCore
import XCTest

/// How a book without ratings weighs the rated books it is placed by.
final class ContentPlacementTests: XCTestCase {
    /// Unit rows of `factors` for the candidates, and the similarity row of `book` to them.
    private func similarities(of book: [Float], to candidates: [[Float]]) -> (similarities: Matrix, factors: Matrix) {
        let factors = Matrix(stacking: candidates, columns: book.count).rowsNormalized
        let query = Matrix(stacking: [book], columns: book.count).rowsNormalized
        return (multiply(query, factors, transposeB: true), factors)
    }

    func testNeighboursThatShareNothingAreWeighedByTheirSimilarityShrunkByTheRidge() {
        // Orthogonal neighbours: F_N F_Nᵀ = I, so w = s / (1 + μ).
        let (similarities, factors) = similarities(of: [3, 2, 1, 0], to: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        let weights = ridgeWeightedNeighbours(similarities, row: 0, factors: factors, count: 10, ridge: 0.5)
        XCTAssertEqual(weights.map(\.column), [0, 1, 2], "the candidate with no similarity is no neighbour")
        for (column, weight) in weights {
            XCTAssertEqual(weight, similarities[0, column] / 1.5, accuracy: 1e-6)
        }
    }

    func testNeighboursThatRepeatOneAnotherShareTheWeightOneOfThemWouldGet() {
        // Candidates 0 and 1 are the same book (two editions); 2 is another.
        let book: [Float] = [2, 1, 0.5]
        let alone = similarities(of: book, to: [[1, 0, 0], [0, 1, 0]])
        let repeated = similarities(of: book, to: [[1, 0, 0], [1, 0, 0], [0, 1, 0]])
        let once = ridgeWeightedNeighbours(alone.similarities, row: 0, factors: alone.factors, count: 10, ridge: 0.3)
        let twice = ridgeWeightedNeighbours(repeated.similarities, row: 0, factors: repeated.factors, count: 10, ridge: 0.3)
        XCTAssertEqual(twice.map(\.column), [0, 1, 2], "equal similarities break by the lower column")
        XCTAssertEqual(twice[0].weight, twice[1].weight, accuracy: 1e-6)
        // Together the two editions weigh about what one did alone (s/(2 + μ) each against s/(1 + μ)),
        // where a similarity-weighted mean gives the repeated book two shares.
        XCTAssertEqual(twice[0].weight + twice[1].weight, once[0].weight, accuracy: 0.25 * once[0].weight)
        XCTAssertEqual(twice[2].weight, once[1].weight, accuracy: 1e-6)
        let mean = similarityWeightedNeighbours(repeated.similarities, row: 0, count: 10)
        XCTAssertGreaterThan(mean[0].weight + mean[1].weight, 2 * mean[2].weight)
    }

    func testTheWeightsSolveTheRidgeRegressionOfTheBookOnItsNearestNeighbours() {
        var generator = SeededGenerator(seed: 11)
        let candidates = (0..<30).map { _ in (0..<8).map { _ in generator.nextGaussian() } }
        let book = (0..<8).map { _ in generator.nextGaussian() }
        let (similarities, factors) = similarities(of: book, to: candidates)
        let ridge: Float = 0.3
        let weights = ridgeWeightedNeighbours(similarities, row: 0, factors: factors, count: 6, ridge: ridge)
        XCTAssertEqual(weights.count, 6)
        let nearest = (0..<30).filter { similarities[0, $0] > 0 }.sorted { similarities[0, $0] > similarities[0, $1] }.prefix(6)
        XCTAssertEqual(weights.map(\.column), Array(nearest))
        // (F_N F_Nᵀ + μI) w = s_N, row by row.
        for a in weights.indices {
            var lhs = ridge * weights[a].weight
            for b in weights.indices {
                var cosine: Float = 0
                for f in 0..<8 { cosine += factors[weights[a].column, f] * factors[weights[b].column, f] }
                lhs += cosine * weights[b].weight
            }
            XCTAssertEqual(lhs, similarities[0, weights[a].column], accuracy: 1e-4)
        }
    }
}

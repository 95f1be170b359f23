import BookrecCore
import XCTest

final class SymmetricInverseTests: XCTestCase {
    func testTheInverseTimesTheMatrixIsTheIdentity() throws {
        var generator = SeededGenerator(seed: 3)
        let n = 70
        let m = Matrix(rows: n, columns: n, values: (0..<(n * n)).map { _ in generator.nextGaussian() })
        var a = multiply(m, transposeA: true, m)
        for i in 0..<n { a[i, i] += Float(n) }
        var inverse = a
        try invertSymmetricPositiveDefinite(&inverse)
        let product = multiply(a, inverse)
        for i in 0..<n {
            for j in 0..<n { XCTAssertEqual(product[i, j], i == j ? 1 : 0, accuracy: 1e-4, "(\(i), \(j))") }
        }
        XCTAssertEqual(inverse, inverse.transposed, "both triangles are filled")
    }

    func testAMatrixThatIsNotPositiveDefiniteIsRefused() {
        var a = Matrix(rows: 2, columns: 2, values: [1, 2, 2, 1])  // eigenvalues 3 and −1
        XCTAssertThrowsError(try invertSymmetricPositiveDefinite(&a)) { XCTAssertTrue($0 is NotPositiveDefinite) }
    }
}

/// Two tastes: readers 0..<20 rate books 0..<5, readers 20..<40 rate books 5..<10, each reader
/// all but one book of their side (a different one for each reader).
private func twoTastes() -> Interactions {
    var triples: [(reader: Int, book: Int, rating: Float)] = []
    for reader in 0..<40 {
        let side = reader < 20 ? 0 : 5
        for book in side..<(side + 5) where book != side + reader % 5 { triples.append((reader, book, 5)) }
    }
    return Interactions(readers: 40, books: 10, triples: triples)
}

final class EASETests: XCTestCase {
    func testWeightsAreTheClosedFormWithAZeroDiagonal() throws {
        let interactions = twoTastes()
        let lambda: Float = 2
        let ease = try EASE(interactions: interactions, regularization: lambda)
        // Reference: P = (XᵀX + λI)⁻¹ by Gauss–Jordan in Double, B_ij = −P_ij / P_jj.
        let n = interactions.books
        var g = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for list in interactions.booksByReader {
            for a in list { for b in list { g[Int(a)][Int(b)] += 1 } }
        }
        for i in 0..<n { g[i][i] += Double(lambda) }
        var p = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for column in 0..<n {
            let pivot = g[column][column]
            for j in 0..<n { g[column][j] /= pivot; p[column][j] /= pivot }
            for row in 0..<n where row != column {
                let factor = g[row][column]
                for j in 0..<n { g[row][j] -= factor * g[column][j]; p[row][j] -= factor * p[column][j] }
            }
        }
        for i in 0..<n {
            for j in 0..<n {
                let expected = i == j ? 0 : -p[i][j] / p[j][j]
                XCTAssertEqual(Double(ease.weights[i, j]), expected, accuracy: 1e-4, "B[\(i), \(j)]")
            }
        }
    }

    func testAReaderIsOfferedTheUnratedBookOfTheirTaste() throws {
        let interactions = twoTastes()
        let ease = try EASE(interactions: interactions, regularization: 1)
        for reader in [0, 3, 21, 39] {
            let scores = itemItemScores(ease, rated: interactions.booksByReader[reader])
            let unrated = (0..<10).filter { !interactions.hasRated(reader: reader, book: $0) }
            let best = unrated.max { scores[$0] < scores[$1] }!
            XCTAssertEqual(best, (reader < 20 ? 0 : 5) + reader % 5, "reader \(reader): scores \(scores)")
        }
    }

    func testContentLinksABookWithoutRatingsToBooksLikeIt() throws {
        // Book 10 has no rating; its content is that of books 0..<5.
        let ratings = twoTastes()
        let interactions = Interactions(readers: 40, books: 11, triples: (0..<ratings.count).map { (Int(ratings.reader[$0]), Int(ratings.book[$0]), ratings.rating[$0]) })
        var content = Matrix(rows: 11, columns: 2)
        for book in 0..<11 { content[book, book < 5 || book == 10 ? 0 : 1] = 1 }
        let ease = try EASE(interactions: interactions, regularization: 1, content: content, contentWeight: 1)
        let first = itemItemScores(ease, rated: interactions.booksByReader[0]), second = itemItemScores(ease, rated: interactions.booksByReader[20])
        XCTAssertGreaterThan(first[10], second[10], "the new book belongs to the first taste")
    }

    /// Σ of the rows of B of the rated books, through the model's sparse weights (all kept).
    private func itemItemScores(_ ease: EASE, rated: [Int32]) -> [Float] {
        var configuration = ItemItemConfiguration()
        configuration.keptWeights = ease.weights.columns
        let weights = ItemItemWeights(ease: ease, bookIDs: Array(0..<ease.weights.columns), configuration: configuration)
        return weights.scores(rated: rated.map { (Int($0), 1) })
    }
}

final class ImplicitALSTests: XCTestCase {
    private func configuration(steps: Int = 3) -> ImplicitALSConfiguration {
        var configuration = ImplicitALSConfiguration()
        configuration.factors = 4
        configuration.unobservedWeight = 0.1
        configuration.regularization = 0.01
        configuration.epochs = 10
        configuration.conjugateGradientSteps = steps
        return configuration
    }

    func testAHalfStepSolvesEachRowsNormalEquations() {
        let interactions = twoTastes()
        var generator = SeededGenerator(seed: 9)
        let k = 4
        let books = Matrix(rows: 10, columns: k, values: (0..<40).map { _ in generator.nextGaussian() })
        // k steps of conjugate gradients solve a k × k system exactly, up to rounding.
        let solved = ImplicitALS.solve(rows: 0..<40, current: Matrix(rows: 40, columns: k), rated: interactions.booksByReader,
                                       fixed: books, configuration: configuration(steps: k))
        let c = configuration()
        for reader in [0, 7, 25] {
            // A w = b with A = Σ h hᵀ + α₀ HᵀH + λ(|I_u| + α₀|I|) I and b = Σ h, checked as A w ≈ b.
            let rated = interactions.booksByReader[reader].map(Int.init)
            let ridge = c.regularization * (Float(rated.count) + c.unobservedWeight * 10)
            for f in 0..<k {
                var lhs = ridge * solved[reader, f], rhs: Float = 0
                for book in 0..<10 {
                    let dot = (0..<k).reduce(Float(0)) { $0 + books[book, $1] * solved[reader, $1] }
                    lhs += c.unobservedWeight * dot * books[book, f]
                    if rated.contains(book) {
                        lhs += dot * books[book, f]
                        rhs += books[book, f]
                    }
                }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-3, "reader \(reader), factor \(f)")
            }
        }
    }

    func testSplittingTheRowsChangesNoSolution() {
        // 600 readers over 60 books at 32 factors: wide enough that the BLAS kernels' rounding
        // depends on a row's place in a product, and row counts that cross the 256-row blocks.
        var generator = SeededGenerator(seed: 4)
        var triples: [(reader: Int, book: Int, rating: Float)] = []
        for reader in 0..<600 {
            for book in 0..<60 where Float.random(in: 0..<1, using: &generator) < 0.2 { triples.append((reader, book, 5)) }
        }
        let interactions = Interactions(readers: 600, books: 60, triples: triples)
        var c = configuration()
        c.factors = 32
        let books = Matrix(rows: 60, columns: 32, values: (0..<(60 * 32)).map { _ in generator.nextGaussian() })
        let start = Matrix(rows: 600, columns: 32, values: (0..<(600 * 32)).map { _ in generator.nextGaussian() })
        let whole = ImplicitALS.solve(rows: 0..<600, current: start, rated: interactions.booksByReader, fixed: books, configuration: c)
        for cuts in [[0, 100, 600], [0, 7, 300, 513, 600]] {
            var pieces: [Float] = []
            for (from, to) in zip(cuts, cuts.dropFirst()) {
                pieces += ImplicitALS.solve(
                    rows: from..<to, current: start.gathering(rows: Array(from..<to)), rated: interactions.booksByReader,
                    fixed: books, configuration: c).values
            }
            XCTAssertEqual(pieces, whole.values, "rows cut at \(cuts)")
        }
    }

    func testReadersAreOfferedTheUnratedBookOfTheirTaste() throws {
        let interactions = twoTastes()
        let model = try ImplicitALS(interactions: interactions, configuration: configuration())
        let scores = multiply(model.readerFactors, model.bookFactors, transposeB: true)
        for reader in 0..<40 {
            let unrated = (0..<10).filter { !interactions.hasRated(reader: reader, book: $0) }
            let best = unrated.max { scores[reader, $0] < scores[reader, $1] }!
            XCTAssertEqual(best, (reader < 20 ? 0 : 5) + reader % 5, "reader \(reader)")
        }
    }
}

import BookrecCore
import BookrecEvaluation
import XCTest

final class BaselineTests: XCTestCase {
    /// Books 1...4 and 5...8 are two tastes; readers 1...10 rate three of the first four (a
    /// different one left out each time), readers 11...20 three of the second four. Books 9 and
    /// 10 have no ratings.
    private func data() -> IndexedData {
        var ratings: [Rating] = []
        for user in 1...20 {
            let first = user <= 10 ? 1 : 5
            for book in first..<(first + 4) where book != first + user % 4 {
                ratings.append(Rating(user: user, book: book, rating: 5))
            }
        }
        return IndexedData(bookIDs: Array(1...10), training: ratings)
    }

    private func bestUnrated(_ ranker: Ranker, data: IndexedData, reader user: Int, among books: [Int]) -> Int {
        let reader = data.readerIndex[user]!
        let scores = ranker.scores(readers: [reader])
        let candidates = books.map { data.bookIndex[$0]! }.filter { !data.interactions.hasRated(reader: reader, book: $0) }
        return data.bookIDs[candidates.max { scores[0, $0] != scores[0, $1] ? scores[0, $0] < scores[0, $1] : $0 > $1 }!]
    }

    func testRP3betaOffersTheUnratedBookOfTheReadersTaste() {
        let data = data()
        let ranker = RP3betaRanker(data, alpha: 0.8, beta: 0.3, neighbourCount: 10)
        for user in [1, 6, 12, 19] {
            let first = user <= 10 ? 1 : 5
            XCTAssertEqual(bestUnrated(ranker, data: data, reader: user, among: Array(1...8)), first + user % 4, "reader \(user)")
        }
    }

    func testRP3betaWithBetaZeroIsTheThreeStepWalk() {
        // α = 1, β = 0: W_ab = Σ_u x_ua x_ub / (deg(a) deg(u)), so a reader's score of b is Σ_{a rated} W_ab.
        let data = data()
        let ix = data.interactions
        let ranker = RP3betaRanker(data, alpha: 1, beta: 0, neighbourCount: 10)
        let reader = data.readerIndex[1]!
        let scores = ranker.scores(readers: [reader])
        let degrees = ix.ratingCounts()
        for b in 0..<ix.books {
            var expected: Float = 0
            for a in ix.booksByReader[reader].map(Int.init) where a != b {
                for u in 0..<ix.readers where ix.hasRated(reader: u, book: a) && ix.hasRated(reader: u, book: b) {
                    expected += 1 / (Float(degrees[a]) * Float(ix.booksByReader[u].count))
                }
            }
            XCTAssertEqual(scores[0, b], expected, accuracy: 1e-5, "book \(data.bookIDs[b])")
        }
    }

    func testContentToCollaborativePlacesANewBookByItsNeighboursScores() throws {
        let data = data()
        // Book 9 reads like book 2 (first taste), book 10 like book 7 (second taste).
        var content = Matrix(rows: 10, columns: 10)
        for b in 0..<8 { content[b, b] = 1 }
        content[8, 1] = 1
        content[9, 6] = 1
        let ease = try EASERanker(data, regularization: 1)
        let ranker = ContentToCollaborativeRanker(data, content: content, collaborative: ease, neighbourCount: 1)
        for user in [3, 9] { XCTAssertEqual(bestUnrated(ranker, data: data, reader: user, among: [9, 10]), 9, "reader \(user)") }
        for user in [11, 18] { XCTAssertEqual(bestUnrated(ranker, data: data, reader: user, among: [9, 10]), 10, "reader \(user)") }
        // With one neighbour, the new book's score is its neighbour's.
        let reader = data.readerIndex[3]!
        let own = ease.scores(readers: [reader]), placed = ranker.scores(readers: [reader])
        XCTAssertEqual(placed[0, 8], own[0, 1])
        XCTAssertEqual(placed[0, 0], own[0, 0], "books with ratings keep their scores")
        // With ridge weights, that one neighbour (cosine 1) weighs 1 / (1 + μ).
        let ridge = ContentToCollaborativeRanker(data, content: content, collaborative: ease, neighbourCount: 1, ridge: 0.25)
        XCTAssertEqual(ridge.scores(readers: [reader])[0, 8], own[0, 1] / 1.25, accuracy: 1e-6)
        for user in [11, 18] { XCTAssertEqual(bestUnrated(ridge, data: data, reader: user, among: [9, 10]), 10, "reader \(user)") }
    }

    func testBiasedMFPredictsRatingsBetterThanTheMean() {
        // Readers 1...30 rate books by a hidden taste: r = 3 + 2·(reader side)·(book side).
        var ratings: [Rating] = []
        var generator = SeededGenerator(seed: 2)
        for user in 1...30 {
            for book in 1...20 where Float.random(in: 0..<1, using: &generator) < 0.7 {
                let agree = (user % 2 == 0) == (book % 2 == 0)
                ratings.append(Rating(user: user, book: book, rating: agree ? 5 : 1))
            }
        }
        let data = IndexedData(bookIDs: Array(1...20), training: ratings)
        let model = BiasedMFRanker(data, factors: 4, epochs: 200, learningRate: 0.02, regularization: 0.01, seed: 1)
        var squared = 0.0
        for rating in ratings {
            let predicted = model.predictedRating(reader: data.readerIndex[rating.user]!, book: data.bookIndex[rating.book]!)!
            squared += pow(predicted - Double(rating.rating), 2)
        }
        XCTAssertLessThan((squared / Double(ratings.count)).squareRoot(), 0.5, "the mean alone is 2 off")
    }
}

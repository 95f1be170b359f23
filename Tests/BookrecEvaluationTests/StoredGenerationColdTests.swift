import BookrecCore
import BookrecEvaluation
import XCTest

final class StoredGenerationColdTests: XCTestCase {
    func testColdBooksAreRankedByTheStoredVectorsForReadersWhoLikedThem() {
        // Every book is cold (3 of 3). Reader 1 liked book 10 and not 20; reader 2 liked 30;
        // reader 3 liked 10 but has no vector; book 40 has no vector (not added).
        let ratings = [
            Rating(user: 1, book: 10, rating: 5), Rating(user: 1, book: 20, rating: 2), Rating(user: 2, book: 30, rating: 4),
            Rating(user: 3, book: 10, rating: 5), Rating(user: 2, book: 40, rating: 5),
        ]
        let split = EvaluationSplit(ratings: ratings, seed: 1, coldBookCount: 4)
        XCTAssertEqual(split.coldBooks, [10, 20, 30, 40])
        let books: [Int: (vector: [Float], term: Float)] = [10: ([1], 0), 20: ([2], 0), 30: ([-3], 0)]
        let (metrics, readers, bookCount) = coldMetrics(split: split, readerVectors: [1: [1], 2: [-1]], bookVectors: books)
        XCTAssertEqual(readers, 2)
        XCTAssertEqual(bookCount, 3)
        // Reader 1 ranks 20, 10, 30: the liked book second. Reader 2 ranks 30 first.
        XCTAssertEqual(metrics.ndcg10, (1 / log2(3.0) + 1) / 2, accuracy: 1e-9)
        XCTAssertEqual(metrics.recall10, 1, accuracy: 1e-9)
        XCTAssertEqual(metrics.hitRate10, 1, accuracy: 1e-9)
    }

    func testTheItemItemTermOfTheStoredWeightsJoinsTheFactorsScores() throws {
        // Books 1 and 2 are co-rated; cold book 10 is placed on book 1, cold book 20 on book 2.
        // Reader 5 rated book 2 (a training rating) and liked cold book 10 (held out).
        let ratings = [Rating(user: 5, book: 10, rating: 5), Rating(user: 6, book: 20, rating: 2)]
        let split = EvaluationSplit(ratings: ratings, seed: 1, coldBookCount: 2)
        XCTAssertEqual(split.coldBooks, [10, 20])
        let training = Interactions(readers: 3, books: 2, triples: [(0, 0, 5), (0, 1, 5), (1, 0, 5), (1, 1, 4), (2, 1, 5)])
        var weights = ItemItemWeights(ease: try EASE(interactions: training, regularization: 1), bookIDs: [1, 2], configuration: ItemItemConfiguration())
        weights.place(bookID: 10, nearest: [.init(position: 0, weight: 1)], share: 1)
        weights.place(bookID: 20, nearest: [.init(position: 1, weight: 1)], share: 1)
        // By the factors alone book 20 wins; book 1 is what book 2's readers go on to read.
        let books: [Int: (vector: [Float], term: Float)] = [10: ([0], 0), 20: ([0], 0.001)]
        let factorsOnly = coldMetrics(split: split, readerVectors: [5: [1]], bookVectors: books)
        XCTAssertEqual(factorsOnly.metrics.hitRate10, 1)
        XCTAssertEqual(factorsOnly.metrics.ndcg10, 1 / log2(3.0), accuracy: 1e-9, "factors alone rank the liked book second")
        let withItemItem = coldMetrics(
            split: split, readerVectors: [5: [1]], bookVectors: books, itemItem: weights, ratings: [5: [Rating(user: 5, book: 2, rating: 5)]])
        XCTAssertEqual(withItemItem.metrics.ndcg10, 1, accuracy: 1e-9, "the item-item term puts it first")
    }
}

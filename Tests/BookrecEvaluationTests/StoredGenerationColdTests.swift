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
}

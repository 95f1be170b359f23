import BookrecCore
import BookrecEvaluation
import XCTest

final class EvaluationSplitTests: XCTestCase {
    /// 60 readers who each rate 30 of 100 books.
    func ratings() -> [Rating] {
        var generator = SeededGenerator(seed: 5)
        var ratings: [Rating] = []
        for user in 1...60 {
            for book in Array(1...100).shuffled(using: &generator).prefix(30) {
                ratings.append(Rating(user: user, book: book, rating: Int.random(in: 1...5, using: &generator)))
            }
        }
        return ratings
    }

    func testColdValidationBooksAreDisjointFromTheColdTestAndUnseenInTraining() {
        let all = ratings()
        let split = EvaluationSplit(ratings: all, seed: 3, coldBookCount: 10)
        XCTAssertEqual(split.coldBooks.count, 10)
        XCTAssertEqual(split.coldValidationBooks.count, 10)
        XCTAssertTrue(split.coldBooks.isDisjoint(with: split.coldValidationBooks))
        XCTAssertTrue(split.coldValidation.allSatisfy { split.coldValidationBooks.contains($0.book) })
        XCTAssertTrue(split.coldTest.allSatisfy { split.coldBooks.contains($0.book) })
        let cold = split.coldBooks.union(split.coldValidationBooks)
        for part in [split.training, split.validation, split.warmTest] {
            XCTAssertFalse(part.contains { cold.contains($0.book) }, "a cold book's rating leaked into a warm part")
        }
        XCTAssertEqual(
            split.training.count + split.validation.count + split.warmTest.count + split.coldTest.count + split.coldValidation.count,
            all.count, "every rating lands in exactly one part")
    }

    func testColdProtocolRanksOnlyTheBooksOfItsSplit() {
        let split = EvaluationSplit(ratings: ratings(), seed: 3, coldBookCount: 10)
        let data = IndexedData(bookIDs: Array(1...100), training: split.training)
        let evaluator = Evaluator(data: data, split: split)
        let oracle = Oracle(liked: Set(split.coldValidation.filter { $0.rating >= 4 }.map { [$0.user, $0.book] }), data: data)
        XCTAssertEqual(evaluator.cold(oracle, onValidation: true).hitRate10, 1, accuracy: 1e-9)
        XCTAssertEqual(evaluator.cold(oracle, onValidation: true).ndcg10, 1, accuracy: 1e-9)
        XCTAssertLessThan(evaluator.cold(oracle).ndcg10, 0.9, "what the validation books reveal says nothing of the test books")
    }
}

/// Scores 1 exactly the (reader, book) pairs it is told were liked.
private struct Oracle: Ranker {
    let name = "oracle"
    let liked: Set<[Int]>
    let data: IndexedData

    func scores(readers: [Int]) -> Matrix {
        var scores = Matrix(rows: readers.count, columns: data.bookIDs.count)
        for (r, reader) in readers.enumerated() {
            for (b, book) in data.bookIDs.enumerated() where liked.contains([data.readerIDs[reader], book]) { scores[r, b] = 1 }
        }
        return scores
    }
}

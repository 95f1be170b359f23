@testable import BookrecCore
import Foundation
import XCTest

final class ItemItemTests: XCTestCase {
    /// 30 readers, 12 books, ratings 1–5 from a seeded generator; book 11 has no ratings.
    private func catalog() -> Interactions {
        var generator = SeededGenerator(seed: 7)
        var triples: [(reader: Int, book: Int, rating: Float)] = []
        for reader in 0..<30 {
            for book in 0..<11 where Float.random(in: 0..<1, using: &generator) < 0.4 {
                triples.append((reader, book, Float(Int.random(in: 1...5, using: &generator))))
            }
        }
        return Interactions(readers: 30, books: 12, triples: triples)
    }

    private func ratings(of reader: Int, in ix: Interactions, ids: [Int]) -> [Rating] {
        (0..<ix.count).filter { Int(ix.reader[$0]) == reader }.map { Rating(user: reader, book: ids[Int(ix.book[$0])], rating: Int(ix.rating[$0])) }
    }

    func testAReadersScoreIsTheirRatingWeightedSumOfTheRowsOfBKeepingTheLargestWeights() throws {
        let ix = catalog()
        let ease = try EASE(interactions: ix, regularization: 2)
        let ids = (0..<12).map { 100 + $0 * 7 }
        var configuration = ItemItemConfiguration()
        configuration.keptWeights = 4
        configuration.neutralWeight = 0.5
        configuration.dislikedWeight = -0.25
        configuration.scale = 3
        let weights = ItemItemWeights(ease: ease, bookIDs: ids, configuration: configuration)
        let term = ItemItemTerm(weights: weights, columns: ids)
        for reader in [0, 9, 17] {
            var expected = [Float](repeating: 0, count: 12)
            for rating in ratings(of: reader, in: ix, ids: ids) {
                let row = ids.firstIndex(of: rating.book)!
                // The 4 weights of the row largest in magnitude, ties by the lower column.
                let kept = (0..<12).filter { ease.weights[row, $0] != 0 }
                    .sorted { abs(ease.weights[row, $0]) != abs(ease.weights[row, $1]) ? abs(ease.weights[row, $0]) > abs(ease.weights[row, $1]) : $0 < $1 }
                    .prefix(4)
                let weight: Float = rating.rating >= 4 ? 1 : rating.rating == 3 ? 0.5 : -0.25
                for column in kept { expected[column] += weight * ease.weights[row, column] }
            }
            var logits = [Float](repeating: 1, count: 12)
            logits.withUnsafeMutableBufferPointer { term.add(ratings: ratings(of: reader, in: ix, ids: ids), to: $0) }
            for b in 0..<12 { XCTAssertEqual(logits[b], 1 + 3 * expected[b], accuracy: 1e-5, "reader \(reader), book \(ids[b])") }
        }
    }

    func testAPlacedBookScoresAsAShareOfTheWeightedMeanOfItsNeighboursAndUnknownBooksScoreNothing() throws {
        let ix = catalog()
        let ids = Array(0..<12)
        var weights = ItemItemWeights(ease: try EASE(interactions: ix, regularization: 2), bookIDs: ids, configuration: ItemItemConfiguration())
        weights.place(bookID: 11, nearest: [.init(position: 2, weight: 0.75), .init(position: 5, weight: 0.25)], share: 0.4)
        weights.place(bookID: 500, nearest: [.init(position: 3, weight: 1)], share: 1)
        let columns = [11, 2, 5, 500, 3, 999]
        let term = ItemItemTerm(weights: weights, columns: columns)
        let reader = ratings(of: 4, in: ix, ids: ids)
        var logits = [Float](repeating: 0, count: columns.count)
        logits.withUnsafeMutableBufferPointer { term.add(ratings: reader, to: $0) }
        XCTAssertEqual(logits[0], 0.4 * (0.75 * logits[1] + 0.25 * logits[2]), accuracy: 1e-6)
        XCTAssertEqual(logits[3], logits[4])
        XCTAssertEqual(logits[5], 0, "a book the weights do not know adds nothing")
        XCTAssertNotEqual(logits[1], 0)
        // A rating of a book outside the model (added later) carries nothing.
        var withUnknown = [Float](repeating: 0, count: columns.count)
        withUnknown.withUnsafeMutableBufferPointer { term.add(ratings: reader + [Rating(user: 4, book: 999, rating: 5)], to: $0) }
        XCTAssertEqual(withUnknown, logits)
    }

    func testTheWeightsSurviveTheStoreEncodingAndDamagedBytesAreRefusedWithAReason() throws {
        var weights = ItemItemWeights(ease: try EASE(interactions: catalog(), regularization: 2), bookIDs: Array(0..<12), configuration: ItemItemConfiguration())
        weights.place(bookID: 11, nearest: [.init(position: 2, weight: 1)], share: 0.5)
        let bytes = weights.serialized()
        XCTAssertEqual(try ItemItemWeights(serialized: bytes), weights)
        XCTAssertThrowsError(try ItemItemWeights(serialized: bytes.prefix(bytes.count - 3))) { error in
            XCTAssertTrue("\(error)".contains("end"), "\(error)")
        }
        var corrupted = bytes
        corrupted[0] = 9
        XCTAssertThrowsError(try ItemItemWeights(serialized: corrupted)) { error in
            XCTAssertTrue("\(error)".contains("format version"), "\(error)")
        }
    }
}

final class KthLargestTests: XCTestCase {
    func testItAgreesWithASortOnRandomRowsWithTies() {
        var generator = SeededGenerator(seed: 3)
        for size in [1, 2, 7, 100, 1000] {
            let values = (0..<size).map { _ in Float(Int.random(in: 0..<(size / 3 + 2), using: &generator)) }
            let sorted = values.sorted(by: >)
            for k in Set([1, size / 2 + 1, size]) {
                var reordered = values
                XCTAssertEqual(kthLargest(&reordered, k), sorted[k - 1], "size \(size), k \(k)")
                XCTAssertEqual(reordered.sorted(by: >), sorted, "size \(size), k \(k): it reorders the values, loses none")
            }
        }
    }
}

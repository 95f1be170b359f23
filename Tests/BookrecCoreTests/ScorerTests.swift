import BookrecCore
import XCTest

final class ScorerTests: XCTestCase {
    func testTopKExcludesRatedBooksAndBreaksTiesByBookID() {
        // Books 0..4 with ids 50, 10, 40, 20, 30; books 1–4 tie exactly.
        let scorer = Scorer(side: ItemSide(vectors: [[1], [1], [1], [1], [3]], bookTerms: [0, 0, 0, 0, -2]), bookIDs: [50, 10, 40, 20, 30])
        let reader = Matrix(rows: 1, columns: 1, values: [1])
        let top = scorer.topK(readers: reader, readerBias: [0], slots: [0], excluded: [[0]], k: 3)[0]
        XCTAssertEqual(top.map { scorer.bookIDs[$0.book] }, [10, 20, 30], "equal logits rank by ascending id; rated book 0 never appears")
        XCTAssertEqual(top[0].score, 1 / (1 + exp(-1)), accuracy: 1e-6)
    }

    func testMergingTopKOverOldAndNewBooksEqualsTopKOverAll() {
        // 40 readers, 60 books with ids in shuffled order and coarse vectors, so that many logits tie.
        var generator = SeededGenerator(seed: 7)
        let ids = Array(1...60).shuffled(using: &generator)
        let vectors = (0..<60).map { _ in (0..<4).map { _ in Float(Int.random(in: -2...2, using: &generator)) } }
        let terms = (0..<60).map { _ in Float(Int.random(in: 0...1, using: &generator)) }
        let readers = Matrix(stacking: (0..<40).map { _ in (0..<4).map { _ in Float(Int.random(in: -1...1, using: &generator)) } }, columns: 4)
        let bias = [Float](repeating: 0, count: 40)
        let excluded = [[Int32]](repeating: [], count: 40)
        func lists(_ rows: [Int]) -> [[ScoredRecommendation]] {
            let scorer = Scorer(side: ItemSide(vectors: rows.map { vectors[$0] }, bookTerms: rows.map { terms[$0] }), bookIDs: rows.map { ids[$0] })
            return scorer.topK(readers: readers, readerBias: bias, slots: Array(0..<40), excluded: excluded, k: 10).map { list in
                list.map { ScoredRecommendation(bookID: scorer.bookIDs[$0.book], logit: $0.logit) }
            }
        }
        let all = lists(Array(0..<60)), old = lists(Array(0..<45)), new = lists(Array(45..<60))
        XCTAssertTrue(all.contains { list in list.contains { id in ids[45...].contains(id.bookID) } }, "new books reach some lists")
        for r in 0..<40 { XCTAssertEqual(mergeTopK([old[r], new[r]], k: 10), all[r], "reader \(r)") }
    }

    func testLogitsEqualTheModelFormula() {
        var generator = SeededGenerator(seed: 3)
        let k = 5, books = 70, readers = 130
        let vectors = (0..<books).map { _ in (0..<k).map { _ in generator.nextGaussian() } }
        let terms = (0..<books).map { _ in generator.nextGaussian() }
        let scorer = Scorer(side: ItemSide(vectors: vectors, bookTerms: terms), bookIDs: Array(0..<books))
        let readerRows = (0..<readers).map { _ in (0..<k).map { _ in generator.nextGaussian() } }
        let bias = (0..<readers).map { _ in generator.nextGaussian() }
        let logits = scorer.logits(readers: Matrix(stacking: readerRows, columns: k), readerBias: bias, slots: Array(0..<readers))
        for (u, b) in [(0, 0), (129, 69), (64, 3), (77, 65)] {
            let expected = zip(readerRows[u], vectors[b]).reduce(0) { $0 + $1.0 * $1.1 } + terms[b] + bias[u]
            XCTAssertEqual(logits[u, b], expected, accuracy: 1e-4)
        }
    }

    func testResultsDoNotDependOnHowReadersAreSharded() {
        var generator = SeededGenerator(seed: 11)
        let k = 8, books = 300, readers = 200
        let scorer = Scorer(
            side: ItemSide(vectors: (0..<books).map { _ in (0..<k).map { _ in generator.nextGaussian() } }, bookTerms: (0..<books).map { _ in generator.nextGaussian() }),
            bookIDs: Array(0..<books))
        let readerMatrix = Matrix(stacking: (0..<readers).map { _ in (0..<k).map { _ in generator.nextGaussian() } }, columns: k)
        let bias = [Float](repeating: 0, count: readers)
        let excluded = (0..<readers).map { [Int32($0 % books)] }
        let whole = scorer.topK(readers: readerMatrix, readerBias: bias, slots: Array(0..<readers), excluded: excluded, k: 20)
        for shardSize in [1, 7, 64, 100] {
            var sharded: [[ScoredBook]] = []
            for start in stride(from: 0, to: readers, by: shardSize) {
                let end = min(start + shardSize, readers)
                let shard = readerMatrix.gathering(rows: Array(start..<end))
                sharded += scorer.topK(readers: shard, readerBias: Array(bias[start..<end]), slots: Array(start..<end), excluded: Array(excluded[start..<end]), k: 20)
            }
            XCTAssertEqual(sharded, whole, "shard size \(shardSize) gives bit-identical results")
        }
    }
}

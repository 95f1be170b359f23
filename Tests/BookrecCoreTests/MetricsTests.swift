import BookrecCore
import XCTest

final class MetricsTests: XCTestCase {
    func testRankingMetricsOnAHandWorkedList() {
        let ranked = [5, 1, 9, 2, 7]
        let relevant: Set = [1, 7, 100]
        XCTAssertEqual(RankingMetrics.hitRate(ranked, relevant: relevant, at: 1), 0)
        XCTAssertEqual(RankingMetrics.hitRate(ranked, relevant: relevant, at: 2), 1)
        XCTAssertEqual(RankingMetrics.recall(ranked, relevant: relevant, at: 5), 2.0 / 3.0, accuracy: 1e-12)
        let dcg = 1 / log2(3.0) + 1 / log2(6.0)
        let ideal = 1 + 1 / log2(3.0) + 1 / log2(4.0)
        XCTAssertEqual(RankingMetrics.ndcg(ranked, relevant: relevant, at: 5), dcg / ideal, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.averagePrecision(ranked, relevant: relevant, at: 5), (1.0 / 2 + 2.0 / 5) / 3, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.coverage([[1, 2], [2, 3]], catalogSize: 10, at: 2), 0.3, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.rmse(predictions: [1, 3], targets: [2, 5]), (2.5).squareRoot(), accuracy: 1e-12)
    }
}

import Foundation

/// Top-N ranking metrics for one reader: `ranked` is the recommended list, best first;
/// `relevant` the held-out books that count as hits.
public enum RankingMetrics {
    public static func recall(_ ranked: [Int], relevant: Set<Int>, at n: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        return Double(ranked.prefix(n).filter(relevant.contains).count) / Double(min(relevant.count, n))
    }

    public static func hitRate(_ ranked: [Int], relevant: Set<Int>, at n: Int) -> Double {
        ranked.prefix(n).contains(where: relevant.contains) ? 1 : 0
    }

    /// Binary-relevance NDCG: DCG over the ideal DCG of min(|relevant|, n) hits.
    public static func ndcg(_ ranked: [Int], relevant: Set<Int>, at n: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var dcg = 0.0
        for (position, book) in ranked.prefix(n).enumerated() where relevant.contains(book) {
            dcg += 1 / log2(Double(position) + 2)
        }
        var ideal = 0.0
        for position in 0..<min(relevant.count, n) { ideal += 1 / log2(Double(position) + 2) }
        return dcg / ideal
    }

    /// Average precision at n, normalised by min(|relevant|, n).
    public static func averagePrecision(_ ranked: [Int], relevant: Set<Int>, at n: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var hits = 0
        var sum = 0.0
        for (position, book) in ranked.prefix(n).enumerated() where relevant.contains(book) {
            hits += 1
            sum += Double(hits) / Double(position + 1)
        }
        return sum / Double(min(relevant.count, n))
    }

    /// Fraction of the catalog that appears in at least one reader's top n.
    public static func coverage(_ lists: [[Int]], catalogSize: Int, at n: Int) -> Double {
        var seen = Set<Int>()
        for list in lists { seen.formUnion(list.prefix(n)) }
        return catalogSize > 0 ? Double(seen.count) / Double(catalogSize) : 0
    }

    /// Root mean squared error.
    public static func rmse(predictions: [Double], targets: [Double]) -> Double {
        precondition(predictions.count == targets.count)
        guard !predictions.isEmpty else { return 0 }
        var sum = 0.0
        for (p, t) in zip(predictions, targets) { sum += (p - t) * (p - t) }
        return (sum / Double(predictions.count)).squareRoot()
    }
}

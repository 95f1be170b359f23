import BookrecCore
import Foundation

/// The figures of one model on the evaluation's protocols (docs/EVALUATION.md); nil where a
/// protocol does not apply.
public struct EvaluationRow: Sendable {
    public var name: String
    public var warm: WarmMetrics?
    public var cold: ColdMetrics?
    public var rmse: Double?
    public var seconds: Double = 0
}

public struct WarmMetrics: Sendable {
    public var recall20 = 0.0, ndcg10 = 0.0, hitRate10 = 0.0, map10 = 0.0, coverage10 = 0.0
}

public struct ColdMetrics: Sendable {
    public var recall10 = 0.0, ndcg10 = 0.0, hitRate10 = 0.0

    /// Adds one reader's top-10 against their relevant books.
    mutating func add(_ ranked: [Int], relevant: Set<Int>) {
        recall10 += RankingMetrics.recall(ranked, relevant: relevant, at: 10)
        ndcg10 += RankingMetrics.ndcg(ranked, relevant: relevant, at: 10)
        hitRate10 += RankingMetrics.hitRate(ranked, relevant: relevant, at: 10)
    }

    /// The sums turned into means over `readers`.
    func averaged(over readers: Int) -> ColdMetrics {
        let n = Double(max(readers, 1))
        return ColdMetrics(recall10: recall10 / n, ndcg10: ndcg10 / n, hitRate10: hitRate10 / n)
    }
}

/// Runs the warm, cold and rating protocols of docs/EVALUATION.md on one split for any Ranker.
public struct Evaluator {
    public let data: IndexedData
    public let split: EvaluationSplit
    /// Every cold book, of the test and of the validation: none is warm.
    let coldIndices: [Int32]
    let coldTestIndices: [Int32]
    let coldValidationIndices: [Int32]
    let warmExclusions: [Int: [Int32]]  // reader → training, validation and cold books, sorted
    let warmRelevant: [Int: Set<Int>]
    let validationRelevant: [Int: Set<Int>]
    let coldRelevant: [Int: Set<Int>]
    let coldValidationRelevant: [Int: Set<Int>]
    let selector: TopKSelector

    public init(data: IndexedData, split: EvaluationSplit) {
        self.data = data
        self.split = split
        selector = TopKSelector(bookIDs: data.bookIDs)
        func indices(_ books: Set<Int>) -> [Int32] { books.compactMap { data.bookIndex[$0] }.map(Int32.init).sorted() }
        coldTestIndices = indices(split.coldBooks)
        coldValidationIndices = indices(split.coldValidationBooks)
        coldIndices = indices(split.coldBooks.union(split.coldValidationBooks))
        func relevant(_ ratings: [Rating]) -> [Int: Set<Int>] {
            var result: [Int: Set<Int>] = [:]
            for rating in ratings where rating.rating >= 4 {
                guard let reader = data.readerIndex[rating.user], let book = data.bookIndex[rating.book] else { continue }
                result[reader, default: []].insert(book)
            }
            return result
        }
        warmRelevant = relevant(split.warmTest)
        validationRelevant = relevant(split.validation)
        coldRelevant = relevant(split.coldTest)
        coldValidationRelevant = relevant(split.coldValidation)
        var exclusions: [Int: [Int32]] = [:]
        for rating in split.validation {
            guard let reader = data.readerIndex[rating.user], let book = data.bookIndex[rating.book] else { continue }
            exclusions[reader, default: []].append(Int32(book))
        }
        let cold = coldIndices
        warmExclusions = exclusions.mapValues { Set($0 + cold).sorted() }
    }

    /// Books a reader is not ranked on: what the model saw, the cold books and, on the test
    /// split, the validation books (on the validation split, the test books stay unknown).
    func exclusions(reader: Int, onValidation: Bool) -> [Int32] {
        let known = data.interactions.booksByReader[reader]
        return Set(known + (onValidation ? coldIndices : warmExclusions[reader] ?? coldIndices)).sorted()
    }

    /// Warm protocol on the test split (or on validation, for choosing hyper-parameters).
    public func warm(_ ranker: Ranker, onValidation: Bool = false, readerLimit: Int? = nil) -> WarmMetrics {
        let relevantByReader = onValidation ? validationRelevant : warmRelevant
        var readers = relevantByReader.keys.sorted()
        if let readerLimit { readers = Array(readers.prefix(readerLimit)) }
        var metrics = WarmMetrics()
        var lists: [[Int]] = []
        for batch in stride(from: 0, to: readers.count, by: 256).map({ Array(readers[$0..<min($0 + 256, readers.count)]) }) {
            let scores = ranker.scores(readers: batch)
            scores.values.withUnsafeBufferPointer { all in
                for (r, reader) in batch.enumerated() {
                    let row = UnsafeBufferPointer(rebasing: all[(r * scores.columns)..<((r + 1) * scores.columns)])
                    let ranked = selector.select(row, excluding: exclusions(reader: reader, onValidation: onValidation), k: 20).map(\.book)
                    let relevant = relevantByReader[reader]!
                    metrics.recall20 += RankingMetrics.recall(ranked, relevant: relevant, at: 20)
                    metrics.ndcg10 += RankingMetrics.ndcg(ranked, relevant: relevant, at: 10)
                    metrics.hitRate10 += RankingMetrics.hitRate(ranked, relevant: relevant, at: 10)
                    metrics.map10 += RankingMetrics.averagePrecision(ranked, relevant: relevant, at: 10)
                    lists.append(ranked)
                }
            }
        }
        let n = Double(max(readers.count, 1))
        metrics.recall20 /= n
        metrics.ndcg10 /= n
        metrics.hitRate10 /= n
        metrics.map10 /= n
        metrics.coverage10 = RankingMetrics.coverage(lists, catalogSize: data.bookIDs.count - coldIndices.count, at: 10)
        return metrics
    }

    /// Cold protocol: rank only the held-out books for readers who rated one of them ≥ 4 (on the
    /// cold validation books, for choosing hyper-parameters).
    public func cold(_ ranker: Ranker, onValidation: Bool = false, readerLimit: Int? = nil) -> ColdMetrics {
        let relevantByReader = onValidation ? coldValidationRelevant : coldRelevant
        var readers = relevantByReader.keys.sorted()
        if let readerLimit { readers = Array(readers.prefix(readerLimit)) }
        let coldSet = Set(onValidation ? coldValidationIndices : coldTestIndices)
        let nonCold = (0..<data.bookIDs.count).filter { !coldSet.contains(Int32($0)) }.map(Int32.init)
        var metrics = ColdMetrics()
        for batch in stride(from: 0, to: readers.count, by: 256).map({ Array(readers[$0..<min($0 + 256, readers.count)]) }) {
            let scores = ranker.scores(readers: batch)
            scores.values.withUnsafeBufferPointer { all in
                for (r, reader) in batch.enumerated() {
                    let row = UnsafeBufferPointer(rebasing: all[(r * scores.columns)..<((r + 1) * scores.columns)])
                    let ranked = selector.select(row, excluding: nonCold, k: 10).map(\.book)
                    metrics.add(ranked, relevant: relevantByReader[reader]!)
                }
            }
        }
        return metrics.averaged(over: readers.count)
    }

    /// RMSE on the warm test ratings (or the validation ratings), for rankers that predict ratings.
    public func rmse(_ ranker: Ranker, onValidation: Bool = false) -> Double? {
        var predictions: [Double] = [], targets: [Double] = []
        for rating in onValidation ? split.validation : split.warmTest {
            guard let reader = data.readerIndex[rating.user], let book = data.bookIndex[rating.book],
                  let prediction = ranker.predictedRating(reader: reader, book: book) else { continue }
            predictions.append(prediction)
            targets.append(Double(rating.rating))
        }
        return predictions.isEmpty ? nil : RankingMetrics.rmse(predictions: predictions, targets: targets)
    }

    public var warmReaderCount: Int { warmRelevant.count }
    public var coldReaderCount: Int { coldRelevant.count }
}

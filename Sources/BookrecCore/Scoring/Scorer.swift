import Foundation

/// One recommended book: its position in the item list, the logit and ŷ = σ(logit).
public struct ScoredBook: Equatable, Sendable {
    public let book: Int
    public let logit: Float
    public var score: Float { sigmoid(logit) }
}

/// Scores readers × books as one matrix product plus the book term, and keeps each reader's
/// top-K unrated books, ties broken by the lower book id.
///
/// Products are computed in fixed blocks of `blockSize` readers and books, zero-padded, so that
/// every logit goes through the same BLAS kernel path whatever the shard: results are bit-identical
/// for any number of workers and any shard size.
public struct Scorer: Sendable {
    public static let blockSize = 64
    public let items: Matrix  // padded books × k
    public let bookTerms: [Float]
    public let bookIDs: [Int]

    /// `bookIDs[i]` is the id of row i of `side`; it breaks ties.
    public init(side: ItemSide, bookIDs: [Int]) {
        precondition(side.vectors.rows == bookIDs.count)
        let padded = Self.padded(side.vectors.rows)
        var items = Matrix(rows: padded, columns: side.vectors.columns)
        items.values.replaceSubrange(0..<side.vectors.values.count, with: side.vectors.values)
        self.items = items
        self.bookTerms = side.bookTerms
        self.bookIDs = bookIDs
    }

    public var bookCount: Int { bookIDs.count }

    static func padded(_ n: Int) -> Int { (n + blockSize - 1) / blockSize * blockSize }

    /// Logits of every book for each reader, as (readers × books) in the unpadded book range.
    public func logits(readers: Matrix, readerBias: [Float]) -> Matrix {
        precondition(readers.columns == items.columns)
        var result = Matrix(rows: readers.rows, columns: bookCount)
        for start in stride(from: 0, to: readers.rows, by: Self.blockSize) {
            let count = min(Self.blockSize, readers.rows - start)
            var block = Matrix(rows: Self.blockSize, columns: readers.columns)
            block.values.replaceSubrange(0..<(count * readers.columns), with: readers.values[(start * readers.columns)..<((start + count) * readers.columns)])
            let products = multiply(block, items, transposeB: true)
            for r in 0..<count {
                let bias = readerBias[start + r]
                products.values.withUnsafeBufferPointer { source in
                    result.values.withUnsafeMutableBufferPointer { target in
                        let from = source.baseAddress! + r * items.rows
                        let to = target.baseAddress! + (start + r) * bookCount
                        for b in 0..<bookCount { to[b] = from[b] + bookTerms[b] + bias }
                    }
                }
            }
        }
        return result
    }

    /// Each reader's top-K books, best first, skipping `excluded[r]` (sorted book positions).
    public func topK(readers: Matrix, readerBias: [Float], excluded: [[Int32]], k: Int) -> [[ScoredBook]] {
        precondition(excluded.count == readers.rows)
        var results = [[ScoredBook]]()
        results.reserveCapacity(readers.rows)
        for start in stride(from: 0, to: readers.rows, by: Self.blockSize) {
            let end = min(start + Self.blockSize, readers.rows)
            let block = Matrix(rows: end - start, columns: readers.columns, values: Array(readers.values[(start * readers.columns)..<(end * readers.columns)]))
            let logits = logits(readers: block, readerBias: Array(readerBias[start..<end]))
            for r in 0..<(end - start) {
                results.append(selectTop(logits: logits, row: r, excluded: excluded[start + r], k: k))
            }
        }
        return results
    }

    func selectTop(logits: Matrix, row: Int, excluded: [Int32], k: Int) -> [ScoredBook] {
        logits.values.withUnsafeBufferPointer { all in
            TopKSelector(bookIDs: bookIDs).select(
                UnsafeBufferPointer(rebasing: all[(row * logits.columns)..<(row * logits.columns + bookCount)]), excluding: excluded, k: k)
        }
    }
}

/// Picks the k highest values of a score row, skipping excluded positions; equal scores rank by
/// the lower book id, so that the order never depends on how the work was split.
public struct TopKSelector: Sendable {
    public let bookIDs: [Int]

    public init(bookIDs: [Int]) {
        self.bookIDs = bookIDs
    }

    @inline(__always)
    func ranksAbove(_ a: (Int, Float), _ b: (Int, Float)) -> Bool {
        a.1 != b.1 ? a.1 > b.1 : bookIDs[a.0] < bookIDs[b.0]
    }

    /// `excluded` lists positions in ascending order.
    public func select(_ values: UnsafeBufferPointer<Float>, excluding excluded: [Int32], k: Int) -> [ScoredBook] {
        var best: [(Int, Float)] = []
        best.reserveCapacity(k + 1)
        var nextExcluded = 0
        for b in 0..<values.count {
            while nextExcluded < excluded.count && Int(excluded[nextExcluded]) < b { nextExcluded += 1 }
            if nextExcluded < excluded.count && Int(excluded[nextExcluded]) == b { continue }
            let candidate = (b, values[b])
            if best.count == k, let last = best.last, !ranksAbove(candidate, last) { continue }
            var position = best.count
            while position > 0 && ranksAbove(candidate, best[position - 1]) { position -= 1 }
            best.insert(candidate, at: position)
            if best.count > k { best.removeLast() }
        }
        return best.map { ScoredBook(book: $0.0, logit: $0.1) }
    }
}

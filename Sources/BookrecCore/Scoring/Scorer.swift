import Foundation

/// One recommended book: its position in the item list, the logit and ŷ = σ(logit).
public struct ScoredBook: Equatable, Sendable {
    public let book: Int
    public let logit: Float
    public var score: Float { sigmoid(logit) }
}

/// A recommended book by id, as stored: the score shown is σ(logit); ranks order by logit.
public struct ScoredRecommendation: Equatable, Sendable {
    public let bookID: Int
    public let logit: Float

    public init(bookID: Int, logit: Float) {
        self.bookID = bookID
        self.logit = logit
    }
}

/// The top k of several ranked lists of different books, in the order TopKSelector uses (higher
/// logit first, then lower book id): merging a reader's top-k over old books with their top-k over
/// new books gives exactly their top-k over both.
public func mergeTopK(_ lists: [[ScoredRecommendation]], k: Int) -> [ScoredRecommendation] {
    lists.joined().sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.bookID < $1.bookID }.prefix(k).map { $0 }
}

/// Scores readers × books as one matrix product and keeps each reader's top-K unrated books,
/// ties broken by the lower book id.
///
/// The book term and the reader bias ride along as two extra columns ([p_u, 1, β_u] ·
/// [q_b, term_b, 1]), so one sgemm yields the logits with no second pass. Products are computed
/// in fixed blocks of `blockSize` readers against every book, zero-padded, so that each logit goes
/// through the same BLAS kernel path whatever the shard: results are bit-identical for any number
/// of workers and any shard size.
public struct Scorer: Sendable {
    public static let blockSize = 256
    /// Padded books × (k + 2): q_b, the book term, and 1.
    let augmentedItems: Matrix
    public let factors: Int
    public let bookIDs: [Int]

    /// `bookIDs[i]` is the id of row i of `side`; it breaks ties.
    public init(side: ItemSide, bookIDs: [Int]) {
        precondition(side.vectors.rows == bookIDs.count)
        let k = side.vectors.columns
        var items = Matrix(rows: Self.padded(bookIDs.count), columns: k + 2)
        for b in 0..<bookIDs.count {
            for f in 0..<k { items[b, f] = side.vectors[b, f] }
            items[b, k] = side.bookTerms[b]
            items[b, k + 1] = 1
        }
        augmentedItems = items
        factors = k
        self.bookIDs = bookIDs
    }

    public var bookCount: Int { bookIDs.count }

    static func padded(_ n: Int) -> Int { (n + 63) / 64 * 64 }

    /// q_b of a book (row `book` of the item side).
    public func itemVector(_ book: Int) -> [Float] { Array(augmentedItems.row(book)[0..<factors]) }

    public func bookTerm(_ book: Int) -> Float { augmentedItems[book, factors] }

    /// Calls `body` with each block of readers' logits (block rows × padded books) and the index
    /// of the block's first reader.
    private func forEachBlock(readers: Matrix, readerBias: [Float], _ body: (Matrix, Int, Int) -> Void) {
        precondition(readers.columns == factors, "reader vectors have \(readers.columns) factors, items \(factors)")
        var block = Matrix(rows: Self.blockSize, columns: factors + 2)
        var products = Matrix(rows: Self.blockSize, columns: augmentedItems.rows)
        for start in stride(from: 0, to: readers.rows, by: Self.blockSize) {
            let count = min(Self.blockSize, readers.rows - start)
            for r in 0..<Self.blockSize {
                for f in 0..<factors { block[r, f] = r < count ? readers[start + r, f] : 0 }
                block[r, factors] = r < count ? 1 : 0
                block[r, factors + 1] = r < count ? readerBias[start + r] : 0
            }
            gemm(block, augmentedItems, transposeB: true, into: &products)
            body(products, start, count)
        }
    }

    /// Logits of every book for each reader, as (readers × books).
    public func logits(readers: Matrix, readerBias: [Float]) -> Matrix {
        var result = Matrix(rows: readers.rows, columns: bookCount)
        forEachBlock(readers: readers, readerBias: readerBias) { products, start, count in
            for r in 0..<count {
                result.values.replaceSubrange(
                    ((start + r) * bookCount)..<((start + r + 1) * bookCount),
                    with: products.values[(r * products.columns)..<(r * products.columns + bookCount)])
            }
        }
        return result
    }

    /// Each reader's top-K books, best first, skipping `excluded[r]` (sorted book positions).
    public func topK(readers: Matrix, readerBias: [Float], excluded: [[Int32]], k: Int) -> [[ScoredBook]] {
        precondition(excluded.count == readers.rows)
        var results = [[ScoredBook]]()
        results.reserveCapacity(readers.rows)
        let selector = TopKSelector(bookIDs: bookIDs)
        forEachBlock(readers: readers, readerBias: readerBias) { products, start, count in
            products.values.withUnsafeBufferPointer { all in
                for r in 0..<count {
                    let row = UnsafeBufferPointer(rebasing: all[(r * products.columns)..<(r * products.columns + bookCount)])
                    results.append(selector.select(row, excluding: excluded[start + r], k: k))
                }
            }
        }
        return results
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
        guard k > 0 else { return [] }
        var best: [(Int, Float)] = []
        best.reserveCapacity(k + 1)
        var nextExcluded = 0
        // Once k books are held, most scores fall strictly below the k-th and are skipped at once.
        var threshold = -Float.infinity
        for b in 0..<values.count where values[b] >= threshold {
            while nextExcluded < excluded.count && Int(excluded[nextExcluded]) < b { nextExcluded += 1 }
            if nextExcluded < excluded.count && Int(excluded[nextExcluded]) == b { continue }
            let candidate = (b, values[b])
            if best.count == k, let last = best.last, !ranksAbove(candidate, last) { continue }
            var position = best.count
            while position > 0 && ranksAbove(candidate, best[position - 1]) { position -= 1 }
            best.insert(candidate, at: position)
            if best.count > k { best.removeLast() }
            if best.count == k { threshold = best[k - 1].1 }
        }
        return best.map { ScoredBook(book: $0.0, logit: $0.1) }
    }
}

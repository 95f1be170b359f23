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

/// Scores readers × books as matrix products and keeps each reader's top-K unrated books, ties
/// broken by the lower book id.
///
/// The book term and the reader bias ride along as two extra columns ([p_u, 1, β_u] ·
/// [q_b, term_b, 1]), so the products yield the logits with no second pass. BLAS kernels round a
/// product's dot products differently by the row and the column they sit in (OpenBLAS's Haswell
/// and Zen sgemm kernels: a period of 6 rows, and the last columns of a call), so every product
/// has one shape, `blockSize` readers by `blockSize` books, zero-padded, and every reader and
/// every book has one place in it: row (reader slot, its id) and column (book id) modulo
/// `blockSize`. Each logit then goes through the same arithmetic whatever the shard, the number
/// of workers or the other books scored with it: bit-identical results, and an add-books merge
/// equal to a full rescore.
public struct Scorer: Sendable {
    public static let blockSize = 256
    /// books × (k + 2): q_b, the book term, and 1.
    let augmentedItems: Matrix
    /// The books in tiles of `blockSize` rows of `augmentedItems`, each book at row id mod
    /// `blockSize`, zero where no book sits; `tileBooks[t]` lists (row, book) of tile t.
    let tiles: [Matrix]
    let tileBooks: [[(row: Int, index: Int)]]
    public let factors: Int
    public let bookIDs: [Int]

    /// `bookIDs[i]` is the id of row i of `side`; it breaks ties.
    public init(side: ItemSide, bookIDs: [Int]) {
        precondition(side.vectors.rows == bookIDs.count)
        let k = side.vectors.columns
        var items = Matrix(rows: bookIDs.count, columns: k + 2)
        for b in 0..<bookIDs.count {
            for f in 0..<k { items[b, f] = side.vectors[b, f] }
            items[b, k] = side.bookTerms[b]
            items[b, k + 1] = 1
        }
        augmentedItems = items
        let members = Self.places(bookIDs)
        tileBooks = members
        tiles = members.map { tile in
            var matrix = Matrix(rows: Self.blockSize, columns: k + 2)
            for (row, book) in tile { matrix.setRow(row, items.row(book)) }
            return matrix
        }
        factors = k
        self.bookIDs = bookIDs
    }

    public var bookCount: Int { bookIDs.count }

    /// Adds to reader r's logits (one per book, in `bookIDs` order) what the factors do not hold.
    public typealias Addend = (_ reader: Int, _ logits: UnsafeMutableBufferPointer<Float>) -> Void

    /// Groups items by their place, `slot` mod `blockSize`: (row, index) lists, one per block;
    /// items whose places collide go to further blocks.
    static func places(_ slots: [Int]) -> [[(row: Int, index: Int)]] {
        var blocks: [[(row: Int, index: Int)]] = []
        var used = [Int](repeating: 0, count: blockSize)  // items placed at each row so far
        for (index, slot) in slots.enumerated() {
            let row = (slot % blockSize + blockSize) % blockSize
            if used[row] == blocks.count { blocks.append([]) }
            blocks[used[row]].append((row, index))
            used[row] += 1
        }
        return blocks
    }

    /// q_b of a book (row `book` of the item side).
    public func itemVector(_ book: Int) -> [Float] { Array(augmentedItems.row(book)[0..<factors]) }

    public func bookTerm(_ book: Int) -> Float { augmentedItems[book, factors] }

    /// Calls `body` with each block of readers' logits (`blockSize` rows × books) and the readers
    /// in it: (row of the block, index in `readers`), reader r at row `slots[r]` mod `blockSize`.
    /// `adding(r, logits)` adds what the factors do not hold to reader r's logits (the item-item term).
    private func forEachBlock(readers: Matrix, readerBias: [Float], slots: [Int], adding: Addend?, _ body: (Matrix, [(row: Int, index: Int)]) -> Void) {
        precondition(readers.columns == factors, "reader vectors have \(readers.columns) factors, items \(factors)")
        precondition(slots.count == readers.rows && readerBias.count == readers.rows)
        var block = Matrix(rows: Self.blockSize, columns: factors + 2)
        var tileProducts = Matrix(rows: Self.blockSize, columns: Self.blockSize)
        var products = Matrix(rows: Self.blockSize, columns: bookCount)
        for members in Self.places(slots) {
            for i in block.values.indices { block.values[i] = 0 }
            for (row, reader) in members {
                for f in 0..<factors { block[row, f] = readers[reader, f] }
                block[row, factors] = 1
                block[row, factors + 1] = readerBias[reader]
            }
            for (tile, books) in zip(tiles, tileBooks) {
                gemm(block, tile, transposeB: true, into: &tileProducts)
                tileProducts.values.withUnsafeBufferPointer { source in
                    products.values.withUnsafeMutableBufferPointer { target in
                        for (row, _) in members {
                            for (column, book) in books { target[row * bookCount + book] = source[row * Self.blockSize + column] }
                        }
                    }
                }
            }
            if let adding {
                products.values.withUnsafeMutableBufferPointer { all in
                    for (row, reader) in members { adding(reader, UnsafeMutableBufferPointer(rebasing: all[(row * bookCount)..<((row + 1) * bookCount)])) }
                }
            }
            body(products, members)
        }
    }

    /// Logits of every book for each reader, as (readers × books); `slots` as in `topK`.
    public func logits(readers: Matrix, readerBias: [Float], slots: [Int], adding: Addend? = nil) -> Matrix {
        var result = Matrix(rows: readers.rows, columns: bookCount)
        forEachBlock(readers: readers, readerBias: readerBias, slots: slots, adding: adding) { products, members in
            for (row, reader) in members {
                result.values.replaceSubrange(
                    (reader * bookCount)..<((reader + 1) * bookCount), with: products.values[(row * bookCount)..<((row + 1) * bookCount)])
            }
        }
        return result
    }

    /// Each reader's top-K books, best first, skipping `excluded[r]` (sorted book positions).
    /// `slots[r]` is a number that stays with reader r whatever the shard (its id): it fixes the
    /// reader's row in the product, and with it every bit of its logits.
    public func topK(readers: Matrix, readerBias: [Float], slots: [Int], excluded: [[Int32]], k: Int, adding: Addend? = nil) -> [[ScoredBook]] {
        precondition(excluded.count == readers.rows)
        var results = [[ScoredBook]](repeating: [], count: readers.rows)
        let selector = TopKSelector(bookIDs: bookIDs)
        forEachBlock(readers: readers, readerBias: readerBias, slots: slots, adding: adding) { products, members in
            products.values.withUnsafeBufferPointer { all in
                for (row, reader) in members {
                    let values = UnsafeBufferPointer(rebasing: all[(row * bookCount)..<((row + 1) * bookCount)])
                    results[reader] = selector.select(values, excluding: excluded[reader], k: k)
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

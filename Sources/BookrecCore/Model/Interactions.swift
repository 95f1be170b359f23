/// Ratings in dense indices: readers 0..<readers, books 0..<books.
public struct Interactions: Sendable {
    public let readers: Int
    public let books: Int
    public private(set) var reader: [Int32] = []
    public private(set) var book: [Int32] = []
    public private(set) var rating: [Float] = []
    /// Per reader, the books they rated, sorted ascending.
    public private(set) var booksByReader: [[Int32]]

    public init(readers: Int, books: Int, triples: [(reader: Int, book: Int, rating: Float)]) {
        self.readers = readers
        self.books = books
        booksByReader = Array(repeating: [], count: readers)
        reader.reserveCapacity(triples.count)
        book.reserveCapacity(triples.count)
        rating.reserveCapacity(triples.count)
        for triple in triples {
            precondition(triple.reader < readers && triple.book < books, "rating outside the index range")
            reader.append(Int32(triple.reader))
            book.append(Int32(triple.book))
            rating.append(triple.rating)
            booksByReader[triple.reader].append(Int32(triple.book))
        }
        for r in 0..<readers { booksByReader[r].sort() }
    }

    public var count: Int { reader.count }

    public func hasRated(reader r: Int, book b: Int) -> Bool {
        let list = booksByReader[r]
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < b { low = mid + 1 } else { high = mid }
        }
        return low < list.count && list[low] == Int32(b)
    }

    /// Per book, the readers who rated it, ascending.
    public func readersByBook() -> [[Int32]] {
        Self.readersByBook(booksByReader, books: books)
    }

    /// The transpose of per-reader lists of books, per-book lists of readers, ascending.
    public static func readersByBook(_ booksByReader: [[Int32]], books: Int) -> [[Int32]] {
        var readersByBook = [[Int32]](repeating: [], count: books)
        for (reader, list) in booksByReader.enumerated() {
            for book in list { readersByBook[Int(book)].append(Int32(reader)) }
        }
        return readersByBook
    }

    /// An unrated book drawn in proportion to its number of ratings (the book of a random rating).
    ///
    /// Positives come in proportion to popularity, so negatives drawn the same way cancel the
    /// popularity gradient: the model learns taste rather than counts, which in goodbooks (about
    /// 100 ratings per book) carry no signal.
    public func sampleNegative(for reader: Int, using generator: inout SeededGenerator) -> Int {
        var negative = Int(book[Int.random(in: 0..<count, using: &generator)])
        // A reader who rated nearly everything would loop forever; a few tries suffice in practice.
        for _ in 0..<20 where hasRated(reader: reader, book: negative) {
            negative = Int(book[Int.random(in: 0..<count, using: &generator)])
        }
        return negative
    }

    /// Per reader, the books they liked (rated 4 or more), or all their books if they liked none:
    /// what a reader's content profile is the mean of.
    public func likedBooks() -> [[Int]] {
        var liked = [[Int]](repeating: [], count: readers)
        for i in 0..<count where rating[i] >= 4 { liked[Int(reader[i])].append(Int(book[i])) }
        return liked.indices.map { liked[$0].isEmpty ? booksByReader[$0].map(Int.init) : liked[$0] }
    }

    /// Number of ratings per book, the popularity signal.
    public func ratingCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: books)
        for b in book { counts[Int(b)] += 1 }
        return counts
    }
}

/// The original design maps ratings 1…5 to [0, 1] for its sigmoid output.
@inline(__always)
public func normalizedRating(_ rating: Float) -> Float {
    (rating - 1) / 4
}

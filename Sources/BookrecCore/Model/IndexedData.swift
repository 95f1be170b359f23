/// Dense indices for readers and books, and the training interactions in them.
public struct IndexedData: Sendable {
    public let bookIDs: [Int]
    public let bookIndex: [Int: Int]
    public let readerIDs: [Int]
    public let readerIndex: [Int: Int]
    public let interactions: Interactions

    public init(bookIDs: [Int], training: [Rating]) {
        self.bookIDs = bookIDs
        bookIndex = Dictionary(uniqueKeysWithValues: bookIDs.enumerated().map { ($1, $0) })
        readerIDs = Array(Set(training.map(\.user))).sorted()
        readerIndex = Dictionary(uniqueKeysWithValues: readerIDs.enumerated().map { ($1, $0) })
        let ri = readerIndex, bi = bookIndex
        interactions = Interactions(
            readers: readerIDs.count, books: bookIDs.count,
            triples: training.map { (ri[$0.user]!, bi[$0.book]!, Float($0.rating)) })
    }
}

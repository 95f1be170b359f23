import BookrecCore
import Foundation

/// How an import changed the store.
public struct ImportSummary: Equatable, Sendable {
    public var booksAdded = 0
    public var booksChanged = 0
    public var coversAdded = 0
    public var coversChanged = 0
    public var ratingsAdded = 0
    public var ratingsChanged = 0
    public var unchanged = 0

    public init(
        booksAdded: Int = 0, booksChanged: Int = 0, coversAdded: Int = 0, coversChanged: Int = 0,
        ratingsAdded: Int = 0, ratingsChanged: Int = 0, unchanged: Int = 0
    ) {
        self.booksAdded = booksAdded
        self.booksChanged = booksChanged
        self.coversAdded = coversAdded
        self.coversChanged = coversChanged
        self.ratingsAdded = ratingsAdded
        self.ratingsChanged = ratingsChanged
        self.unchanged = unchanged
    }
}

extension ImportSummary {
    /// The books to write: those not stored as given (`stored` by id), counted as added,
    /// changed or unchanged. Both drivers decide an import's writes this way.
    mutating func booksToWrite(_ books: [Book], stored: [Int: Book]) -> [Book] {
        books.filter { book in
            switch stored[book.id] {
            case book: unchanged += 1; return false
            case nil: booksAdded += 1; return true
            default: booksChanged += 1; return true
            }
        }
    }

    /// The covers to write, by book id with their content hash: those whose hash differs from the
    /// stored one (`storedHashes` by book id), counted as added, changed or unchanged.
    mutating func coversToWrite(_ covers: [Int: Data], storedHashes: [Int: String]) -> [(bookID: Int, bytes: Data, hash: String)] {
        covers.sorted { $0.key < $1.key }.compactMap { bookID, bytes in
            let hash = contentHash([UInt8](bytes))
            switch storedHashes[bookID] {
            case hash: unchanged += 1; return nil
            case nil: coversAdded += 1
            default: coversChanged += 1
            }
            return (bookID, bytes, hash)
        }
    }
}

/// The catalog as the model needs it.
public struct StoredCatalog: Sendable {
    public var books: [Book]
    public var ratings: [Rating]
    /// Content hash of each book's cover, for the books that have one.
    public var coverHashes: [Int: String]
}

/// Names of the per-generation blobs.
public enum ModelBlob {
    public static let textIDF = "text-idf"
    public static let parameters = "parameters"
    public static let foldIn = "fold-in"
    /// The item-item weights (`ItemItemWeights.serialized`), with the placements of books without ratings.
    public static let itemItem = "item-item"
    /// The identities (name@version) of the encoders whose outputs trained the model.
    public static let encoders = "encoders"
    /// An add-books generation's new books (JSON ids): the only books its score jobs score.
    public static let addedBooks = "added-books"
    /// An add-ratings generation's folded-in readers (JSON ids): the only readers it rescores.
    public static let rescoredReaders = "rescored-readers"
    /// What the workers' iALS rounds of a full run read and write, under this prefix
    /// (`ImplicitALSRounds`); deleted once the model is stored.
    public static let implicitALSPrefix = "ials/"
}

/// How a generation was made: a full run, or incrementally from its parent.
public enum GenerationKind: String, Sendable {
    case full
    case addBooks = "add-books"
    case addRatings = "add-ratings"
}

public enum GenerationState: String, Sendable {
    case building, complete, failed
}

public struct GenerationRecord: Equatable, Sendable {
    public let id: Int
    public let parentID: Int?
    public let kind: String
    public let state: GenerationState
    public let configuration: Data
    public let createdAt: Date
    public let completedAt: Date?
}

/// The phases of a generation, in the order they run: encode books, train (iALS rounds), score readers.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    case encode, train, score
}

public enum ShardState: String, Sendable {
    case queued, running, done, failed
}

public struct ShardRecord: Equatable, Sendable {
    public let generationID: Int
    public let kind: JobKind
    public let index: Int
    public let state: ShardState
    public let ids: [Int]
    public let attempts: Int
    public let error: String?
}

public struct DeadLetterRecord: Equatable, Sendable {
    public let id: Int
    public let generationID: Int?
    public let kind: String?
    public let shardIndex: Int?
    public let reason: String
    /// The bytes of the message kept with it: the whole body, or an excerpt of an oversize one.
    public let keptBodyBytes: Int
    public let at: Date
}

/// One recommended book of a reader, as stored.
public struct StoredRecommendation: Equatable, Sendable {
    public let rank: Int
    public let bookID: Int
    public let score: Double
}

/// What `gc` removed.
public struct GarbageCollection: Equatable, Sendable {
    public var generations: [Int] = []
    public var recommendations = 0
}

/// A file of new books or ratings accepted for reindexing: its accepted rows are kept with it
/// (`content`), and `bookrec-coordinator serve` imports them into the catalog and applies them in
/// an incremental generation, in the order the requests were accepted.
public struct ReindexRequest: Equatable, Sendable {
    public enum Kind: String, Sendable { case books, ratings }
    public enum State: String, Sendable { case queued, running, done, failed }

    public let id: Int
    public let kind: Kind
    public let file: String
    /// Rows of the file that were accepted (the rejected ones were reported when it was enqueued).
    public let accepted: Int
    public let state: State
    /// The generation that applies it (running) or applied it (done).
    public let generationID: Int?
    public let reason: String?
    public let acceptedAt: Date
}


import BookrecCore
import Foundation

/// An error the store reports with what it was doing, e.g. a full disk during a write.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A read-only open of a store that does not exist (yet): no SQLite file, or a PostgreSQL
/// database without bookrec's schema. The service answers 503 while it lasts.
public struct StoreNotFound: Error, CustomStringConvertible {
    public let description: String
    public init(_ location: String) {
        description = "no store at \(location); run `bookrec-coordinator import` first"
    }
}

// The store's seams. The pipeline, the worker, the query side and the HTTP service use these
// protocols only; `SQLiteStore` and `PostgresStore` implement them, and `openStore` picks one.
// Every write is one transaction.

/// Books, covers and ratings.
public protocol CatalogStore: AnyObject, Sendable {
    /// Adds or updates books, covers and ratings in one transaction; rows that are already
    /// stored as given are left alone, so importing the same data twice changes nothing.
    func importCatalog(books: [Book], covers: [Int: Data], ratings: [Rating]) throws -> ImportSummary
    /// Books, cover hashes and (unless `includingRatings` is false) every rating, ordered by id.
    func loadCatalog(includingRatings: Bool) throws -> StoredCatalog
    func bookIDs() throws -> Set<Int>
    /// The books that have at least one rating.
    func ratedBookIDs() throws -> Set<Int>
    /// The encoded bytes of a book's cover, if it has one.
    func coverBytes(bookID: Int) throws -> Data?
    /// Content hashes of the covers of these books (books without a cover are absent).
    func coverHashes(bookIDs: [Int]) throws -> [Int: String]
    /// These books, ordered by id (unknown ids are absent).
    func books(ids: [Int]) throws -> [Book]
    /// Titles and authors only: what a list shows, without decoding each book's tags and genres.
    func bookTitles(ids: [Int]) throws -> [Int: (title: String, authors: String)]
    /// The ratings of each of these readers, by book id.
    func ratings(userIDs: [Int]) throws -> [Int: [Rating]]
}

/// Generations, their model blobs, and which one queries see.
public protocol GenerationStore: AnyObject, Sendable {
    func createGeneration(kind: String, parentID: Int?, configuration: Data) throws -> Int
    /// Creates a generation that starts as a copy of `parentID`: its blobs, book and reader
    /// vectors, and the lists of every reader not in `rescoredReaders` (no list if nil: every
    /// reader is rescored), plus `blobs` of its own. One transaction: never half made.
    func createDerivedGeneration(
        kind: String, parentID: Int, configuration: Data, blobs: [String: Data], copyListsExcept rescoredReaders: [Int]?) throws -> Int
    func generation(_ id: Int) throws -> GenerationRecord?
    func generations() throws -> [GenerationRecord]
    /// The newest generation of this kind still being built, to resume after an interruption.
    func unfinishedGeneration(kind: String) throws -> GenerationRecord?
    func activeGenerationID() throws -> Int?
    /// Makes a generation the one queries see, in one transaction, only if every shard is done
    /// and the results are there: every book its encode shards planned has a vector, and every
    /// reader its score shards planned has a list (or has rated every book, so nothing is left
    /// to recommend). The results are read themselves, not only the shards' states.
    func activate(_ generationID: Int) throws
    func markGeneration(_ generationID: Int, state: GenerationState) throws
    /// Makes an earlier complete generation active again: `target`, or else the newest complete
    /// generation older than the active one. Returns (previously active, now active).
    func rollback(to target: Int?) throws -> (from: Int, to: Int)
    /// Deletes every generation except the newest `keep` complete ones, the active one, any still
    /// being built (a coordinator may resume it) and their parents (an add-books generation
    /// merges into its parent's lists), with all their rows.
    func collectGarbage(keep: Int) throws -> GarbageCollection

    func saveBlob(generationID: Int, name: String, bytes: Data) throws
    func blob(generationID: Int, name: String) throws -> Data?
    /// Deletes the generation's blobs whose names start with `prefix`.
    func deleteBlobs(generationID: Int, prefix: String) throws
}

/// The shards of each phase, what workers did with them, and the messages that were dead-lettered.
public protocol ShardStore: AnyObject, Sendable {
    /// Records the shards of a phase; shards already planned keep their state (resume).
    func planShards(generationID: Int, kind: JobKind, shards: [[Int]]) throws
    /// The shards of a generation (of one phase, or all), by phase and index.
    func shards(generationID: Int, kind: JobKind?) throws -> [ShardRecord]
    func shard(generationID: Int, kind: JobKind, index: Int) throws -> ShardRecord?
    /// The state of the shards of a phase (those in `indices`, or all) by index, without their
    /// ids: what the coordinator polls while it waits.
    func shardStates(generationID: Int, kind: JobKind, indices: Range<Int>?) throws -> [Int: (state: ShardState, attempts: Int, error: String?)]
    /// How many shards of each phase of a generation are in each state, counted by the store:
    /// a status line should not read every shard's ids.
    func shardCounts(generationID: Int) throws -> [JobKind: [ShardState: Int]]
    /// Notes that a worker took a shard; a shard already done stays done (redelivery).
    func markShardRunning(generationID: Int, kind: JobKind, index: Int, worker: String) throws
    /// Puts failed or stalled shards back to queued before they are published again.
    func requeueShards(generationID: Int, kind: JobKind, indices: [Int]) throws
    /// Saves a train shard's result and marks the shard done, in one transaction.
    func completeTrainShard(generationID: Int, index: Int, blobName: String, bytes: Data) throws
    /// Records a message that was dead-lettered, and fails its shard if it names one.
    /// `failsShard` false records a message that was not the plan's (a stale or forged copy),
    /// which leaves the planned shard to its real job.
    func recordDeadLetter(generationID: Int?, kind: String?, shardIndex: Int?, reason: String, body: Data, failsShard: Bool) throws
    /// The latest dead letters, newest first.
    func deadLetters(limit: Int) throws -> [DeadLetterRecord]
}

/// Encoder outputs keyed by what was encoded and by whom: the same content is never encoded twice.
public protocol EncodingStore: AnyObject, Sendable {
    /// Cached encoder outputs for these content hashes (those found).
    func encodings(encoder: String, hashes: [String]) throws -> [String: [Float]]
    /// Stores encoder outputs and marks the encode shard done, in one transaction.
    func completeEncodeShard(generationID: Int, index: Int, encodings: [(encoder: String, hash: String, vector: [Float])]) throws
}

/// Each generation's book vectors q_b with their terms, and reader vectors p_u with β_u.
public protocol VectorStore: AnyObject, Sendable {
    func saveBookVectors(generationID: Int, _ vectors: [(bookID: Int, vector: [Float], term: Float)]) throws
    /// Every book's q_b and book term for a generation, ordered by book id.
    func bookVectors(generationID: Int) throws -> (ids: [Int], vectors: [[Float]], terms: [Float])
    func bookVector(generationID: Int, bookID: Int) throws -> (vector: [Float], term: Float)?
    /// Ids of the books that have a vector in a generation.
    func bookIDsWithVectors(generationID: Int) throws -> Set<Int>
    /// Saves p_u and β_u, and the fingerprint of the ratings they were computed from
    /// (`ratingsFingerprint`), by which `add-ratings` finds readers whose ratings changed since.
    func saveReaderVectors(generationID: Int, _ vectors: [(userID: Int, vector: [Float], bias: Float, ratingsHash: String)]) throws
    func readerVectors(generationID: Int, userIDs: [Int]) throws -> [Int: (vector: [Float], bias: Float)]
    /// The readers with a vector in a generation and the fingerprints of the ratings behind them.
    func readerRatingsHashes(generationID: Int) throws -> [Int: String]
    /// Ids of the readers that have a vector in a generation, ascending.
    func readerIDs(generationID: Int) throws -> [Int]
}

/// Each generation's stored lists.
public protocol ListStore: AnyObject, Sendable {
    /// Replaces the recommendations of a shard's readers and marks the shard done, atomically:
    /// a redelivered job rewrites the same rows.
    func completeScoreShard(generationID: Int, index: Int, lists: [(userID: Int, books: [ScoredRecommendation])]) throws
    /// The stored lists of these readers with their logits, best first (readers without a list
    /// are absent), for merging new books into them.
    func scoredRecommendations(generationID: Int, userIDs: [Int]) throws -> [Int: [ScoredRecommendation]]
    /// A reader's list, best first, at most `limit` books.
    func recommendations(generationID: Int, userID: Int, limit: Int) throws -> [StoredRecommendation]
    /// Streams every reader's list in (user, rank) order without loading them all.
    func forEachRecommendation(generationID: Int, limit: Int, _ body: (Int, StoredRecommendation) throws -> Void) throws
}

/// Files of new books or ratings accepted for reindexing, kept until `serve` applies them.
public protocol ReindexRequestStore: AnyObject, Sendable {
    /// The request for this content, made now or found: the same file enqueued twice is one
    /// request. Returns it and whether it is new.
    func acceptReindexRequest(kind: ReindexRequest.Kind, contentHash: String, file: String, accepted: Int, content: Data) throws -> (ReindexRequest, isNew: Bool)
    func reindexRequest(_ id: Int) throws -> ReindexRequest?
    /// The accepted rows kept with a request.
    func reindexContent(_ id: Int) throws -> Data?
    /// Requests not yet applied (queued, or running when a service stopped), in acceptance order.
    func pendingReindexRequests() throws -> [ReindexRequest]
    /// The latest requests, newest first.
    func reindexRequests(limit: Int) throws -> [ReindexRequest]
    /// Marks requests running, done or failed, in one transaction.
    func markReindexRequests(_ ids: [Int], state: ReindexRequest.State, generationID: Int?, reason: String?) throws
}

/// Held by the one coordinator of a store; `release` (or the holder's death) frees it.
public protocol CoordinatorLock: AnyObject {
    func release()
}

/// A whole store: what `openStore` returns.
public protocol Store: CatalogStore, GenerationStore, ShardStore, EncodingStore, VectorStore, ListStore, ReindexRequestStore {
    /// Where the store is, as shown to users: a file path, or a PostgreSQL URL without its password.
    var location: String { get }
    /// Takes the store's coordinator lock, or fails naming the holder when another coordinator has
    /// it. `onLoss` is called (with the reason) if the lock is lost while held and cannot be taken
    /// back: another coordinator may then be running, and this one must stop.
    func lockCoordinator(onLoss: @escaping @Sendable (String) -> Void) throws -> any CoordinatorLock
}

// The defaults of the protocols' optional arguments.
extension CatalogStore {
    public func loadCatalog() throws -> StoredCatalog { try loadCatalog(includingRatings: true) }
}

extension GenerationStore {
    public func rollback() throws -> (from: Int, to: Int) { try rollback(to: nil) }

    /// The generation's item-item weights, or nil for a model without them.
    public func itemItemWeights(generationID: Int) throws -> ItemItemWeights? {
        guard let bytes = try blob(generationID: generationID, name: ModelBlob.itemItem) else { return nil }
        do { return try ItemItemWeights(serialized: bytes) } catch {
            throw StoreError("the item-item weights of generation \(generationID) are damaged: \(error)")
        }
    }
}

extension ShardStore {
    public func shards(generationID: Int) throws -> [ShardRecord] { try shards(generationID: generationID, kind: nil) }

    public func shardStates(generationID: Int, kind: JobKind) throws -> [Int: (state: ShardState, attempts: Int, error: String?)] {
        try shardStates(generationID: generationID, kind: kind, indices: nil)
    }

    public func recordDeadLetter(generationID: Int?, kind: String?, shardIndex: Int?, reason: String, body: Data) throws {
        try recordDeadLetter(generationID: generationID, kind: kind, shardIndex: shardIndex, reason: reason, body: body, failsShard: true)
    }

    public func deadLetters() throws -> [DeadLetterRecord] { try deadLetters(limit: 100) }
}

extension ReindexRequestStore {
    public func markReindexRequests(_ ids: [Int], state: ReindexRequest.State, generationID: Int?) throws {
        try markReindexRequests(ids, state: state, generationID: generationID, reason: nil)
    }
}

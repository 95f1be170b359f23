import BookrecCore
import BookrecStore
import Foundation

/// One generation held in memory for the service: every reader's stored list with the reason for
/// each of its books, the books each reader liked, every book's title, and the book vectors with
/// each book's nearest books. It is read from the store once, after the generation was activated
/// (so complete), and never changes: a request answers from one of these, never from a
/// half-written generation.
public final class ServedGeneration: AnswerSource, Sendable {
    public let reader: QueryReader
    public let vectors: BookVectorIndex
    private let lists: [Int: [StoredRecommendation]]
    /// The reason for each book of each reader's stored list, in the list's order: the closest
    /// liked book and its cosine (`reason(for:liked:vectors:)`), or nil.
    private let listReasons: [Int: [(book: Int32, similarity: Float)?]]
    private let liked: [Int: [Int]]
    private let bookTitles: [Int: (title: String, authors: String)]
    /// The first readers (by id) with a list: examples for the home page, chosen once.
    let exampleReaders: [Int]

    public var generationID: Int { reader.generationID }

    /// Reads the generation: about 7 s on the bundled data (2.7 million stored list rows, 900,000
    /// ratings, the cosines of 10,000 × 10,000 books).
    public init(store: Store, generationID: Int) throws {
        reader = QueryReader(store: store, generationID: generationID)
        vectors = try BookVectorIndex(store: store, generationID: generationID, precomputingNeighbours: true)
        var lists: [Int: [StoredRecommendation]] = [:]
        try store.forEachRecommendation(generationID: generationID, limit: Int.max) { user, entry in
            lists[user, default: []].append(entry)
        }
        self.lists = lists
        exampleReaders = Array(lists.keys.sorted().prefix(5))
        let catalog = try store.loadCatalog()
        let liked = Dictionary(grouping: catalog.ratings, by: \.user).mapValues(booksLiked(in:))
        self.liked = liked
        let vectors = self.vectors
        listReasons = lists.reduce(into: [:]) { reasons, reader in
            let readerLiked = liked[reader.key] ?? []
            reasons[reader.key] = reader.value.map { entry in
                reason(for: entry.bookID, liked: readerLiked, vectors: vectors).map { (Int32($0.book), $0.similarity) }
            }
        }
        bookTitles = Dictionary(uniqueKeysWithValues: catalog.books.map { ($0.id, ($0.title, $0.authors)) })
    }

    public func recommendations(user: Int, k: Int) throws -> [StoredRecommendation] {
        guard let list = lists[user] else {
            throw QueryError("unknown reader \(user): no recommendations in generation \(generationID)")
        }
        return Array(list.prefix(k))
    }

    public func likedBooks(user: Int) throws -> [Int] { liked[user] ?? [] }

    /// Read from what was computed at load (`list` is the front of the reader's stored list): a
    /// request computes no cosine. Other vectors than this generation's are asked afresh.
    public func reasons(user: Int, list: [StoredRecommendation], vectors: BookVectorIndex) throws -> [Int: (book: Int, similarity: Float)] {
        guard vectors === self.vectors, let stored = listReasons[user] else {
            return computedReasons(list: list, liked: liked[user] ?? [], vectors: vectors)
        }
        var reasons: [Int: (book: Int, similarity: Float)] = [:]
        for (entry, reason) in zip(list, stored) {
            if let reason { reasons[entry.bookID] = (Int(reason.book), reason.similarity) }
        }
        return reasons
    }

    public func titles(_ ids: [Int]) throws -> [Int: (title: String, authors: String)] {
        var found: [Int: (title: String, authors: String)] = [:]
        for id in ids { found[id] = bookTitles[id] }
        return found
    }
}

/// Follows the store's active generation: it reads the active id (one primary-key read) at most
/// every `recheckInterval`. When the id names a generation not yet in memory, that one is loaded
/// on a thread of its own while requests go on answering from the previous generation, complete
/// and consistent; only the very first requests wait for a load.
public final class GenerationFollower: @unchecked Sendable {
    /// How stale the active id may be: an activation is seen within this time. Reading it for every
    /// request cost about a sixth of a request.
    static let recheckInterval: TimeInterval = 0.1

    public let storeLocation: String
    private let lock = NSLock()
    private var store: Store?
    private var served: ServedGeneration?
    private var loading: (generationID: Int, waiters: [CheckedContinuation<ServedGeneration, any Error>])?
    private var active: (generationID: Int, readAt: Date)?

    public init(storeLocation: String) {
        self.storeLocation = storeLocation
    }

    /// The generation to answer from, or a 503 problem while there is no store or no active generation.
    public func current() async throws -> ServedGeneration {
        let store = try openStore()
        let active = try activeGenerationID(store)
        if let served = lock.withLock({ self.served }), served.generationID == active { return served }
        return try await withCheckedThrowingContinuation { continuation in
            let answerNow: ServedGeneration? = lock.withLock {
                if let served, served.generationID == active { return served }
                if loading?.generationID != active {
                    // Whoever waited for an older load now waits for this one.
                    loading = (active, loading?.waiters ?? [])
                    Thread.detachNewThread { self.load(active, from: store) }
                }
                if let served { return served }
                loading!.waiters.append(continuation)
                return nil
            }
            if let answerNow { continuation.resume(returning: answerNow) }
        }
    }

    private func load(_ generationID: Int, from store: Store) {
        let result = Result { try ServedGeneration(store: store, generationID: generationID) }
        let waiters: [CheckedContinuation<ServedGeneration, any Error>] = lock.withLock {
            guard loading?.generationID == generationID else { return [] }  // a newer activation took over
            let waiting = loading!.waiters
            loading = nil
            if case .success(let loaded) = result { served = loaded }
            return waiting
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    private func activeGenerationID(_ store: Store) throws -> Int {
        if let recent = lock.withLock({ active }), Date().timeIntervalSince(recent.readAt) < Self.recheckInterval { return recent.generationID }
        guard let id = try store.activeGenerationID() else {
            throw Problem(.serviceUnavailable, "no generation is active yet; run `bookrec-coordinator run`")
        }
        lock.withLock { active = (id, Date()) }
        return id
    }

    /// The store, opened read-only once it exists.
    public func openStore() throws -> Store {
        if let store = lock.withLock({ self.store }) { return store }
        let opened: any Store
        do { opened = try BookrecStore.openStore(storeLocation, readOnly: true) } catch is StoreNotFound {
            throw Problem(.serviceUnavailable, "there is no store yet; run `bookrec-coordinator import` and `run`")
        }
        lock.withLock { store = opened }
        return opened
    }
}

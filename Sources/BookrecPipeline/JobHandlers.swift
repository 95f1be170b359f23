import BookrecCore
import BookrecStore
import Foundation

/// A job that cannot succeed however often it is retried (unknown ids, a missing generation):
/// it goes to the dead-letter queue at once. A job that is not the plan's (`failsShard` false)
/// is a stale or forged copy: its dead letter leaves the planned shard as it is, for the real job.
public struct PermanentJobError: Error, CustomStringConvertible {
    public let description: String
    public let failsShard: Bool
    public init(_ description: String, failsShard: Bool = true) {
        self.description = description
        self.failsShard = failsShard
    }
}

/// A file this process needs and lacks (the pretrained weights): a worker hands the job back to
/// the queue for another worker and stops, instead of failing the job for every worker.
public struct MissingModelWeights: Error, CustomStringConvertible {
    public let description: String
}

/// The work of one encode job: encode the books of a shard that the cache does not hold yet.
public struct EncodeJobHandler {
    public let store: Store

    /// What an encode job computed and what it found in the cache.
    public struct Summary: CustomStringConvertible, Sendable {
        public var textsEncoded = 0, textsCached = 0, coversEncoded = 0, coversCached = 0
        public var description: String {
            "encoded \(textsEncoded) texts and \(coversEncoded) covers; \(textsCached) texts and \(coversCached) covers from the cache"
        }
    }

    public init(store: Store) {
        self.store = store
    }

    /// Covers decoded and encoded together (a multiple of the EfficientNet encoder's batch of 2,
    /// so the vectors are those of one batch of all).
    static let coversInMemory = 16

    @discardableResult
    public func run(generationID: Int, shardIndex: Int, bookIDs: [Int], encoders: EncoderSet) throws -> Summary {
        let books = try store.books(ids: bookIDs)
        let unknown = Set(bookIDs).subtracting(books.map(\.id))
        guard unknown.isEmpty else {
            throw PermanentJobError("encode shard \(shardIndex) names unknown book ids \(unknown.sorted().prefix(10).map(String.init).joined(separator: ", "))")
        }
        let textKey = encoders.textIdentity.description
        let coverKey = encoders.coverIdentity.description
        let cachedTexts = try store.encodings(encoder: textKey, hashes: books.map(\.textHash))
        var results: [(encoder: String, hash: String, vector: [Float])] = []
        let missingTexts = books.filter { cachedTexts[$0.textHash] == nil }
        if !missingTexts.isEmpty {
            let vectors = try encoders.encode(texts: missingTexts.map(\.text))
            for (row, book) in missingTexts.enumerated() { results.append((textKey, book.textHash, vectors.row(row))) }
        }
        let catalogCovers = try store.coverHashes(bookIDs: bookIDs)
        let cachedCovers = try store.encodings(encoder: coverKey, hashes: Array(catalogCovers.values))
        let missingCovers = catalogCovers.filter { cachedCovers[$0.value] == nil }.sorted { $0.key < $1.key }
        // A few covers at a time, read, decoded and encoded: a shard of large covers never sits
        // in memory decoded all at once.
        for start in stride(from: 0, to: missingCovers.count, by: Self.coversInMemory) {
            let batch = missingCovers[start..<min(start + Self.coversInMemory, missingCovers.count)]
            let bytes = try batch.map { try store.coverBytes(bookID: $0.key) ?? Data() }
            let (vectors, failures) = try encoders.encode(coverBytes: bytes)
            if let (position, reason) = failures.min(by: { $0.key < $1.key }) {
                throw PermanentJobError("cover of book \(batch[start + position].key) cannot be decoded: \(reason)")
            }
            for (row, entry) in batch.enumerated() { results.append((coverKey, entry.value, vectors.row(row))) }
        }
        FaultInjection.reached("encode", "before-commit")
        try store.completeEncodeShard(generationID: generationID, index: shardIndex, encodings: results)
        return Summary(
            textsEncoded: missingTexts.count, textsCached: books.count - missingTexts.count,
            coversEncoded: missingCovers.count, coversCached: catalogCovers.count - missingCovers.count)
    }
}

/// What a worker keeps per generation for scoring: the item matrix as a Scorer. In an add-books
/// generation it holds only the new books, and each reader's top-K over them is merged with the
/// parent generation's stored list: old books are not scored again.
public final class ScoringContext {
    public let generationID: Int
    public let scorer: Scorer
    public let bookIndex: [Int: Int]
    public let topK: Int
    /// The item-item term of the scored books, for a model that has one.
    let itemItem: ItemItemTerm?
    /// The generation whose lists new books are merged into, for an add-books generation.
    let mergedIntoParent: Int?

    public init(store: Store, generationID: Int) throws {
        guard let record = try store.generation(generationID) else {
            throw PermanentJobError("generation \(generationID) does not exist in \(store.location)")
        }
        let configuration = try RunConfiguration.decoded(record.configuration)
        var books = try store.bookVectors(generationID: generationID)
        guard !books.ids.isEmpty else { throw PermanentJobError("generation \(generationID) has no book vectors yet") }
        if record.kind == GenerationKind.addBooks.rawValue {
            guard let parent = record.parentID, let blob = try store.blob(generationID: generationID, name: ModelBlob.addedBooks) else {
                throw PermanentJobError("add-books generation \(generationID) names no parent or no new books")
            }
            let added: Set<Int>
            do { added = Set(try JSONDecoder().decode([Int].self, from: blob)) } catch {
                throw PermanentJobError("the new books of add-books generation \(generationID) are damaged: \(error)")
            }
            let rows = books.ids.indices.filter { added.contains(books.ids[$0]) }
            guard rows.count == added.count else { throw PermanentJobError("generation \(generationID) has no vectors yet for some of its new books") }
            books = (rows.map { books.ids[$0] }, rows.map { books.vectors[$0] }, rows.map { books.terms[$0] })
            mergedIntoParent = parent
        } else {
            mergedIntoParent = nil
        }
        scorer = Scorer(side: ItemSide(vectors: books.vectors, bookTerms: books.terms), bookIDs: books.ids)
        itemItem = try store.itemItemWeights(generationID: generationID).map { ItemItemTerm(weights: $0, columns: books.ids) }
        bookIndex = Dictionary(uniqueKeysWithValues: books.ids.enumerated().map { ($1, $0) })
        topK = configuration.storedTopK
        self.generationID = generationID
    }

    /// Top-K unrated books for each reader of the shard.
    public func score(store: Store, userIDs: [Int]) throws -> [(userID: Int, books: [ScoredRecommendation])] {
        let vectors = try store.readerVectors(generationID: generationID, userIDs: userIDs)
        let unknown = userIDs.filter { vectors[$0] == nil }
        guard unknown.isEmpty else {
            throw PermanentJobError("score shard names readers without vectors in generation \(generationID): \(unknown.prefix(10).map(String.init).joined(separator: ", "))")
        }
        let ratings = try store.ratings(userIDs: userIDs)
        let readers = Matrix(stacking: userIDs.map { vectors[$0]!.vector }, columns: scorer.factors)
        let excluded = userIDs.map { user in (ratings[user] ?? []).compactMap { bookIndex[$0.book] }.sorted().map(Int32.init) }
        let lists = scorer.topK(
            readers: readers, readerBias: userIDs.map { vectors[$0]!.bias }, slots: userIDs, excluded: excluded, k: topK,
            adding: itemItem.map { term in { r, logits in term.add(ratings: ratings[userIDs[r]] ?? [], to: logits) } })
        let scored = zip(userIDs, lists).map { user, list in
            (userID: user, books: list.map { ScoredRecommendation(bookID: scorer.bookIDs[$0.book], logit: $0.logit) })
        }
        guard let parent = mergedIntoParent else { return scored }
        let previous = try store.scoredRecommendations(generationID: parent, userIDs: userIDs)
        return scored.map { entry in (entry.userID, mergeTopK([previous[entry.userID] ?? [], entry.books], k: topK)) }
    }
}

import BookrecCore
import BookrecStore
import Foundation

// The answers of bookrec-query, one Codable type each: `bookrec-query … --json` prints them and
// the HTTP service returns them, so the two cannot drift apart. JSON keys are snake_case, spelled
// out in CodingKeys (a key strategy would cost a third of a request's time).

/// A reader's stored top-K (`recommend`, `GET /v1/readers/{id}/recommendations`).
public struct RecommendationList: Codable, Equatable, Sendable {
    public var userID: Int
    public var generation: Int
    public var recommendations: [RecommendedBook]

    enum CodingKeys: String, CodingKey {
        case userID = "user_id", generation, recommendations
    }
}

public struct RecommendedBook: Codable, Equatable, Sendable {
    public var rank: Int
    public var bookID: Int
    public var score: Double
    public var title: String
    public var authors: String
    /// The reader's own highly rated book whose item vector is closest to this one, where the
    /// model can say (the service fills it in; the CLI leaves it out).
    public var closeTo: RelatedBook?

    enum CodingKeys: String, CodingKey {
        case rank, bookID = "book_id", score, title, authors, closeTo = "close_to"
    }
}

/// A book named as the reason for another, with the cosine of their item vectors.
public struct RelatedBook: Codable, Equatable, Sendable {
    public var bookID: Int
    public var title: String
    public var similarity: Double

    enum CodingKeys: String, CodingKey {
        case bookID = "book_id", title, similarity
    }
}

/// Nearest books by item vector (`similar`, `GET /v1/books/{id}/similar`).
public struct SimilarBooks: Codable, Equatable, Sendable {
    public var bookID: Int
    public var generation: Int
    public var similar: [SimilarBook]

    enum CodingKeys: String, CodingKey {
        case bookID = "book_id", generation, similar
    }
}

public struct SimilarBook: Codable, Equatable, Sendable {
    public var bookID: Int
    public var similarity: Double
    public var title: String
    public var authors: String

    enum CodingKeys: String, CodingKey {
        case bookID = "book_id", similarity, title, authors
    }
}

/// Candidates scored for a reader, best first (`rank`, `POST /v1/rank`).
public struct RankedBooks: Codable, Equatable, Sendable {
    public var userID: Int
    public var generation: Int
    public var ranked: [RankedBook]

    enum CodingKeys: String, CodingKey {
        case userID = "user_id", generation, ranked
    }
}

public struct RankedBook: Codable, Equatable, Sendable {
    public var bookID: Int
    public var score: Double

    enum CodingKeys: String, CodingKey {
        case bookID = "book_id", score
    }
}

/// A book of the catalog (`GET /v1/books/{id}`).
public struct BookDetails: Codable, Equatable, Sendable {
    public var bookID: Int
    public var title: String
    public var authors: String
    public var year: Int?
    public var language: String
    public var isbn13: String
    public var description: String
    public var tags: [String]
    public var genres: [String]
    /// Where its cover is served (`/covers/{id}`), absent when it has none.
    public var cover: String?

    enum CodingKeys: String, CodingKey {
        case bookID = "book_id", title, authors, year, language, isbn13, description, tags, genres, cover
    }
}

/// Generations, their shards and the dead-lettered jobs (`status`, `GET /v1/status`).
public struct StatusReport: Codable, Equatable, Sendable {
    /// The store's path (the CLI only: the service does not show its file system).
    public var store: String?
    public var activeGeneration: Int?
    public var generations: [GenerationStatus]
    public var deadLetters: [DeadLetterStatus]
    /// The latest enqueued reindex requests, newest first.
    public var reindex: [ReindexStatus]
    /// Queue depths (the CLI only, when the broker is reachable).
    public var queues: [QueueDepth]?
    /// Why the queue depths are missing.
    public var broker: String?

    enum CodingKeys: String, CodingKey {
        case store, activeGeneration = "active_generation", generations, deadLetters = "dead_letters", reindex, queues, broker
    }
}

public struct GenerationStatus: Codable, Equatable, Sendable {
    public var id: Int
    public var kind: String
    public var state: String
    public var active: Bool
    public var encoders: String
    public var createdAt: String
    /// Shards by phase: encode, train, score.
    public var shards: [String: ShardProgress]

    enum CodingKeys: String, CodingKey {
        case id, kind, state, active, encoders, createdAt = "created_at", shards
    }
}

public struct ShardProgress: Codable, Equatable, Sendable {
    public var total: Int
    public var done: Int
    public var running: Int
    public var failed: Int
}

public struct DeadLetterStatus: Codable, Equatable, Sendable {
    /// Absent for a message that names no job (it could not be parsed).
    public var generation: Int?
    public var kind: String?
    public var shard: Int?
    public var reason: String
    public var at: String
    /// True while its generation is being built (or it names none); false once that generation
    /// completed or was abandoned.
    public var current: Bool
}

/// An enqueued reindex request: queued, running (in the generation being built), done (activated
/// in a generation) or failed with the reason.
public struct ReindexStatus: Codable, Equatable, Sendable {
    public var id: Int
    public var kind: String
    public var file: String
    public var accepted: Int
    public var state: String
    public var generation: Int?
    public var reason: String?
    public var acceptedAt: String

    enum CodingKeys: String, CodingKey {
        case id, kind, file, accepted, state, generation, reason, acceptedAt = "accepted_at"
    }
}

public struct QueueDepth: Codable, Equatable, Sendable {
    public var queue: String
    public var messages: Int?
    public var consumers: Int?

    public init(queue: String, messages: Int?, consumers: Int?) {
        self.queue = queue
        self.messages = messages
        self.consumers = consumers
    }
}

/// The JSON form of every answer: snake_case keys (each type's CodingKeys), sorted; a value JSON
/// cannot hold (a NaN score from a damaged vector) is an error, not a silent null.
public func encodeAnswer<T: Encodable>(_ value: T) throws -> Data {
    if let writes = value as? any AnswerJSON {
        var json = JSONText()
        try writes.write(to: &json)
        return Data(json.bytes)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
}

/// Reads an answer (or a request body) back.
public func decodeAnswer<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    try JSONDecoder().decode(type, from: data)
}

// MARK: - Building the answers

/// Where the answers' facts come from: the store itself (`QueryReader`, for the CLI) or one
/// generation held in memory (`ServedGeneration`, for the service). Both give the same facts, so
/// the answers built from them below are the same.
public protocol AnswerSource {
    var generationID: Int { get }
    /// The reader's stored top k, best first; a QueryError for a reader without a list.
    func recommendations(user: Int, k: Int) throws -> [StoredRecommendation]
    /// The books the reader rated 4 or 5 (all they rated, when none so high).
    func likedBooks(user: Int) throws -> [Int]
    func titles(_ ids: [Int]) throws -> [Int: (title: String, authors: String)]
    /// Of each book of the reader's list, the reader's liked book whose item vector is closest
    /// to it (`vectors.closest`), when at least `minimumReasonSimilarity` close, by book id.
    func reasons(user: Int, list: [StoredRecommendation], vectors: BookVectorIndex) throws -> [Int: (book: Int, similarity: Float)]
}

/// How close (cosine of item vectors) a reader's book must be to be named as the reason for a
/// recommendation; below it the list says nothing rather than something weak.
let minimumReasonSimilarity: Float = 0.25

/// The liked book closest to `book`, if close enough to be named as the reason for it.
func reason(for book: Int, liked: [Int], vectors: BookVectorIndex) -> (book: Int, similarity: Float)? {
    guard let best = vectors.closest(to: book, among: liked), best.similarity >= minimumReasonSimilarity else { return nil }
    return best
}

/// The reason for each book of a list that has one, by book id.
func computedReasons(list: [StoredRecommendation], liked: [Int], vectors: BookVectorIndex) -> [Int: (book: Int, similarity: Float)] {
    var reasons: [Int: (book: Int, similarity: Float)] = [:]
    for entry in list {
        if let best = reason(for: entry.bookID, liked: liked, vectors: vectors) { reasons[entry.bookID] = best }
    }
    return reasons
}

extension AnswerSource {
    /// Computed from the reader's liked books (the service's `ServedGeneration` has them computed
    /// when it loads a generation).
    public func reasons(user: Int, list: [StoredRecommendation], vectors: BookVectorIndex) throws -> [Int: (book: Int, similarity: Float)] {
        computedReasons(list: list, liked: try likedBooks(user: user), vectors: vectors)
    }

    /// The reader's top k with titles; `vectors` (when in memory) adds the book each is close to.
    public func recommendationList(user: Int, k: Int, vectors: BookVectorIndex? = nil) throws -> RecommendationList {
        let list = try recommendations(user: user, k: k)
        let reasons = try vectors.map { try self.reasons(user: user, list: list, vectors: $0) } ?? [:]
        let books = try titles(list.map(\.bookID) + reasons.values.map(\.book))
        return RecommendationList(userID: user, generation: generationID, recommendations: list.map { entry in
            RecommendedBook(
                rank: entry.rank, bookID: entry.bookID, score: entry.score,
                title: books[entry.bookID]?.title ?? "", authors: books[entry.bookID]?.authors ?? "",
                closeTo: reasons[entry.bookID].map { RelatedBook(bookID: $0.book, title: books[$0.book]?.title ?? "", similarity: Double($0.similarity)) })
        })
    }

    public func similarBooks(book: Int, k: Int, vectors: BookVectorIndex) throws -> SimilarBooks {
        let list = try vectors.similar(book: book, k: k)
        let books = try titles(list.map(\.bookID))
        return SimilarBooks(bookID: book, generation: generationID, similar: list.map {
            SimilarBook(bookID: $0.bookID, similarity: Double($0.similarity), title: books[$0.bookID]?.title ?? "", authors: books[$0.bookID]?.authors ?? "")
        })
    }
}

extension QueryReader: AnswerSource {
    public func likedBooks(user: Int) throws -> [Int] {
        booksLiked(in: try store.ratings(userIDs: [user])[user] ?? [])
    }

    public func titles(_ ids: [Int]) throws -> [Int: (title: String, authors: String)] {
        try store.bookTitles(ids: ids)
    }

    /// The candidates scored for the reader, best first, ties by id.
    public func rankedBooks(user: Int, books candidates: [Int], vectors: BookVectorIndex) throws -> RankedBooks {
        let ranked = try rank(user: user, books: candidates, vectors: vectors)
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.bookID < $1.bookID }
        return RankedBooks(userID: user, generation: generationID, ranked: ranked.map { RankedBook(bookID: $0.bookID, score: Double($0.score)) })
    }
}

/// The books a reader rated 4 or 5, or all they rated when none so high.
func booksLiked(in ratings: [Rating]) -> [Int] {
    let liked = ratings.filter { $0.rating >= 4 }
    return (liked.isEmpty ? ratings : liked).map(\.book)
}

extension Store {
    public func bookDetails(_ id: Int) throws -> BookDetails {
        guard let book = try books(ids: [id]).first else { throw QueryError("unknown book \(id)") }
        let hasCover = try coverHashes(bookIDs: [id])[id] != nil
        return BookDetails(
            bookID: book.id, title: book.title, authors: book.authors, year: book.year, language: book.language, isbn13: book.isbn13,
            description: book.description, tags: book.tags, genres: book.genres, cover: hasCover ? "/covers/\(id)" : nil)
    }

    /// Every generation with its shard progress, and the latest dead letters.
    public func statusReport(deadLetterLimit: Int = 20) throws -> StatusReport {
        let active = try activeGenerationID()
        let generations = try generations()
        let timestamps = ISO8601DateFormatter()
        let progress = try generations.map { generation in
            let counts = try shardCounts(generationID: generation.id)
            var phases: [String: ShardProgress] = [:]
            for kind in JobKind.allCases {
                let ofKind = counts[kind] ?? [:]
                phases[kind.rawValue] = ShardProgress(
                    total: ofKind.values.reduce(0, +), done: ofKind[.done] ?? 0, running: ofKind[.running] ?? 0, failed: ofKind[.failed] ?? 0)
            }
            let encoders = try blob(generationID: generation.id, name: ModelBlob.encoders).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return GenerationStatus(
                id: generation.id, kind: generation.kind, state: generation.state.rawValue, active: generation.id == active,
                encoders: encoders, createdAt: timestamps.string(from: generation.createdAt), shards: phases)
        }
        // A dead letter is a current failure only while its generation is being built (or when it
        // names none); one of a generation since completed or abandoned is history.
        let states = Dictionary(uniqueKeysWithValues: generations.map { ($0.id, $0.state) })
        let deadLetters = try deadLetters(limit: deadLetterLimit).map { letter in
            let state = letter.generationID.flatMap { states[$0] }
            return DeadLetterStatus(
                generation: letter.generationID, kind: letter.kind, shard: letter.shardIndex, reason: letter.reason,
                at: timestamps.string(from: letter.at), current: state == nil || state == .building)
        }
        let building: [ReindexRequest.Kind: Int?] = [
            ReindexRequest.Kind.books: try unfinishedGeneration(kind: GenerationKind.addBooks.rawValue)?.id,
            .ratings: try unfinishedGeneration(kind: GenerationKind.addRatings.rawValue)?.id,
        ]
        let reindex = try reindexRequests(limit: deadLetterLimit).map { try reindexStatus($0, building: building) }
        return StatusReport(activeGeneration: active, generations: progress, deadLetters: deadLetters, reindex: reindex)
    }

    /// One reindex request's state (`GET /v1/reindex/{id}`).
    public func reindexStatus(_ id: Int) throws -> ReindexStatus {
        guard let request = try reindexRequest(id) else { throw QueryError("unknown reindex request \(id)") }
        return try reindexStatus(request)
    }

    /// A running request is in the generation of its kind being built, if one is yet.
    private func reindexStatus(_ request: ReindexRequest, building: [ReindexRequest.Kind: Int?]? = nil) throws -> ReindexStatus {
        var generation = request.generationID
        if request.state == .running {
            let kind = request.kind == .books ? GenerationKind.addBooks : .addRatings
            generation = try building?[request.kind] ?? unfinishedGeneration(kind: kind.rawValue)?.id
        }
        return ReindexStatus(
            id: request.id, kind: request.kind.rawValue, file: request.file, accepted: request.accepted, state: request.state.rawValue,
            generation: generation, reason: request.reason, acceptedAt: ISO8601DateFormatter().string(from: request.acceptedAt))
    }
}

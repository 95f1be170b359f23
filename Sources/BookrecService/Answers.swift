import BookrecCore
import BookrecStore
import Foundation

// The answers of bookrec-query, one Codable type each: `bookrec-query … --json` prints them and
// the HTTP service returns them, so the two cannot drift apart. JSON keys are snake_case.

/// A reader's stored top-K (`recommend`, `GET /v1/readers/{id}/recommendations`).
public struct RecommendationList: Codable, Equatable, Sendable {
    public var userID: Int
    public var generation: Int
    public var recommendations: [RecommendedBook]
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
}

/// A book named as the reason for another, with the cosine of their item vectors.
public struct RelatedBook: Codable, Equatable, Sendable {
    public var bookID: Int
    public var title: String
    public var similarity: Double
}

/// Nearest books by item vector (`similar`, `GET /v1/books/{id}/similar`).
public struct SimilarBooks: Codable, Equatable, Sendable {
    public var bookID: Int
    public var generation: Int
    public var similar: [SimilarBook]
}

public struct SimilarBook: Codable, Equatable, Sendable {
    public var bookID: Int
    public var similarity: Double
    public var title: String
    public var authors: String
}

/// Candidates scored for a reader, best first (`rank`, `POST /v1/rank`).
public struct RankedBooks: Codable, Equatable, Sendable {
    public var userID: Int
    public var generation: Int
    public var ranked: [RankedBook]
}

public struct RankedBook: Codable, Equatable, Sendable {
    public var bookID: Int
    public var score: Double
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
}

/// Generations, their shards and the dead-lettered jobs (`status`, `GET /v1/status`).
public struct StatusReport: Codable, Equatable, Sendable {
    /// The store's path (the CLI only: the service does not show its file system).
    public var store: String?
    public var activeGeneration: Int?
    public var generations: [GenerationStatus]
    public var deadLetters: [DeadLetterStatus]
    /// Queue depths (the CLI only, when the broker is reachable).
    public var queues: [QueueDepth]?
    /// Why the queue depths are missing.
    public var broker: String?
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

/// The JSON form of every answer: snake_case keys, sorted; a value JSON cannot hold (a NaN
/// score from a damaged vector) is an error, not a silent null.
public func encodeAnswer<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .custom { path in AnswerKey(snakeCase(path.last!.stringValue)) }
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
}

/// Reads an answer (or a request body) back: the inverse of `encodeAnswer`.
public func decodeAnswer<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .custom { path in AnswerKey(camelCase(path.last!.stringValue)) }
    return try decoder.decode(type, from: data)
}

/// `userID` → `user_id`, `bookIDs` → `book_ids`, `closeTo` → `close_to`. (Foundation's own
/// strategy writes `book_i_ds` and reads `user_id` back as `userId`.)
func snakeCase(_ name: String) -> String {
    name.replacingOccurrences(of: "IDs", with: "_ids").replacingOccurrences(of: "ID", with: "_id")
        .reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
}

/// The inverse of `snakeCase`.
func camelCase(_ name: String) -> String {
    name.split(separator: "_").enumerated().map { index, word in
        if index == 0 { return String(word) }
        switch word {
        case "id": return "ID"
        case "ids": return "IDs"
        default: return word.prefix(1).uppercased() + word.dropFirst()
        }
    }.joined()
}

private struct AnswerKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

// MARK: - Building the answers from a store

extension QueryReader {
    /// How close (cosine of item vectors) a reader's book must be to be named as the reason for
    /// a recommendation; below it the list says nothing rather than something weak.
    static let minimumReasonSimilarity: Float = 0.25

    /// The reader's top k with titles; `vectors` (when in memory) adds the book each is close to.
    public func recommendationList(user: Int, k: Int, vectors: BookVectorIndex? = nil) throws -> RecommendationList {
        let list = try recommendations(user: user, k: k)
        var reasons: [Int: RelatedBook] = [:]
        var titles = list.map(\.bookID)
        if let vectors {
            let liked = try likedBooks(user: user)
            for entry in list {
                let best = liked.compactMap { book in vectors.cosine(entry.bookID, book).map { (book, $0) } }
                    .max { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 > $1.0 }
                if let (book, similarity) = best, similarity >= Self.minimumReasonSimilarity {
                    reasons[entry.bookID] = RelatedBook(bookID: book, title: "", similarity: Double(similarity))
                }
            }
            titles += reasons.values.map(\.bookID)
        }
        let books = try store.bookTitles(ids: titles)
        return RecommendationList(userID: user, generation: generationID, recommendations: list.map { entry in
            var reason = reasons[entry.bookID]
            if let reasonBook = reason?.bookID { reason?.title = books[reasonBook]?.title ?? "" }
            return RecommendedBook(
                rank: entry.rank, bookID: entry.bookID, score: entry.score,
                title: books[entry.bookID]?.title ?? "", authors: books[entry.bookID]?.authors ?? "", closeTo: reason)
        })
    }

    /// The books the reader rated 4 or 5 (all they rated, when none so high).
    private func likedBooks(user: Int) throws -> [Int] {
        let ratings = try store.ratings(userIDs: [user])[user] ?? []
        let liked = ratings.filter { $0.rating >= 4 }
        return (liked.isEmpty ? ratings : liked).map(\.book)
    }

    public func similarBooks(book: Int, k: Int, vectors: BookVectorIndex) throws -> SimilarBooks {
        let list = try vectors.similar(book: book, k: k)
        let books = try store.bookTitles(ids: list.map(\.bookID))
        return SimilarBooks(bookID: book, generation: generationID, similar: list.map {
            SimilarBook(bookID: $0.bookID, similarity: Double($0.similarity), title: books[$0.bookID]?.title ?? "", authors: books[$0.bookID]?.authors ?? "")
        })
    }

    /// The candidates scored for the reader, best first, ties by id.
    public func rankedBooks(user: Int, books candidates: [Int], vectors: BookVectorIndex) throws -> RankedBooks {
        let ranked = try rank(user: user, books: candidates, vectors: vectors)
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.bookID < $1.bookID }
        return RankedBooks(userID: user, generation: generationID, ranked: ranked.map { RankedBook(bookID: $0.bookID, score: Double($0.score)) })
    }
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
        return StatusReport(activeGeneration: active, generations: progress, deadLetters: deadLetters)
    }
}

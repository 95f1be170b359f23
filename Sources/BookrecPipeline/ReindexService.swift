import BookrecCore
import BookrecQueue
import BookrecStore
import Foundation

/// The message that announces a reindex request on the `bookrec.reindex` queue. The request
/// itself (its kind, its accepted content) is in the store; the message only wakes the service.
public struct ReindexMessage: Codable, Equatable, Sendable {
    public static let schemaVersion = 1
    public let schemaVersion: Int
    public let requestID: Int

    public init(requestID: Int) {
        schemaVersion = Self.schemaVersion
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", requestID = "request_id"
    }

    public func outgoing(on topology: Topology) throws -> OutgoingMessage {
        OutgoingMessage(routingKey: topology.reindexQueue, body: try JSONEncoder().encode(self), messageID: "reindex-\(requestID)")
    }
}

/// The accepted rows of an enqueued file, kept with its request until the service imports them.
public struct ReindexContent: Codable, Sendable {
    public var books: [Book] = []
    public var covers: [Int: Data] = [:]
    public var ratings: [Rating] = []

    public init(books: [Book] = [], covers: [Int: Data] = [:], ratings: [Rating] = []) {
        self.books = books
        self.covers = covers
        self.ratings = ratings
    }
}

extension Store {
    /// The books that pending requests will add: ratings enqueued after them may name them.
    public func pendingBookIDs() throws -> Set<Int> {
        var ids = Set<Int>()
        for request in try pendingReindexRequests() where request.kind == .books {
            ids.formUnion(try ReindexService.content(of: request, in: self).books.map(\.id))
        }
        return ids
    }
}

/// `bookrec-coordinator serve`'s work: each delivery names a request; the service applies every
/// request pending at that moment, in acceptance order, each run of consecutive requests of one
/// kind as one generation: their content imported into the catalog, then one add-books (or
/// add-ratings) generation. So requests that queued while a generation ran become one
/// generation, not one each, and a delivery whose request an earlier batch applied is
/// acknowledged at once. Nothing of a request is in the catalog before its turn, so the result
/// is that of the same files added in the foreground one after the other. A redelivery after a
/// crash finds its requests still running and applies them again: importing is idempotent and
/// the incremental generations resume.
public final class ReindexService {
    let store: Store
    let runner: () throws -> GenerationRunner
    let log: (String) -> Void

    public init(store: Store, runner: @escaping () throws -> GenerationRunner, log: @escaping (String) -> Void) {
        self.store = store
        self.runner = runner
        self.log = log
    }

    public func handle(_ delivery: Delivery) -> Outcome {
        let message: ReindexMessage
        do {
            guard delivery.bodySize <= 4096 else { throw PoisonMessage.oversized(bytes: delivery.bodySize, limit: 4096) }
            message = try JSONDecoder().decode(ReindexMessage.self, from: delivery.body)
            guard message.schemaVersion == ReindexMessage.schemaVersion else {
                return .deadLetter(reason: "reindex message: unsupported schema_version \(message.schemaVersion) (this build reads \(ReindexMessage.schemaVersion))")
            }
        } catch let error as PoisonMessage {
            return .deadLetter(reason: "\(error)")
        } catch {
            return .deadLetter(reason: "reindex message: not a request: \(error)")
        }
        do {
            guard let request = try store.reindexRequest(message.requestID) else {
                return .deadLetter(reason: "reindex message: no request \(message.requestID) in \(store.location)")
            }
            if request.state == .done || request.state == .failed { return .ack }
            try applyPending()
            return .ack
        } catch {
            return .retry(error: "\(error)")
        }
    }

    /// Applies every pending request, a run of consecutive requests of one kind per generation.
    func applyPending() throws {
        var pending = try store.pendingReindexRequests()[...]
        while let kind = pending.first?.kind {
            let run = pending.prefix { $0.kind == kind }
            pending = pending.dropFirst(run.count)
            try apply(Array(run), kind: kind)
        }
    }

    private func apply(_ requests: [ReindexRequest], kind: ReindexRequest.Kind) throws {
        let ids = requests.map(\.id)
        let names = ids.map(String.init).joined(separator: ", ")
        try store.markReindexRequests(ids, state: .running, generationID: nil)
        log("reindex: applying \(kind.rawValue) of request(s) \(names)")
        for request in requests {
            let content = try Self.content(of: request, in: store)
            _ = try store.importCatalog(books: content.books, covers: content.covers, ratings: content.ratings)
        }
        do {
            let runner = try runner()
            let outcome = kind == .books ? try runner.addBooks() : try runner.addRatings()
            try store.markReindexRequests(ids, state: .done, generationID: outcome.activeGenerationID)
            log("reindex: request(s) \(names) done: generation \(outcome.activeGenerationID) active, \(outcome.count) \(kind == .books ? "new books" : "readers rescored")")
        } catch let failure as RunFailure {
            try store.markReindexRequests(ids, state: .failed, generationID: nil, reason: failure.description)
            log("reindex: request(s) \(names) failed: \(failure.description)")
        }
    }

    static func content(of request: ReindexRequest, in store: Store) throws -> ReindexContent {
        guard let data = try store.reindexContent(request.id) else { throw StoreError("reindex request \(request.id) has no content") }
        do { return try JSONDecoder().decode(ReindexContent.self, from: data) } catch {
            throw StoreError("the content of reindex request \(request.id) in the store is damaged: \(error)")
        }
    }
}

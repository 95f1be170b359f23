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

/// `bookrec-coordinator serve`'s work: each delivery names a request; the service applies every
/// request that is pending at that moment, in acceptance order, as one add-books generation (all
/// the books the requests brought) and then one add-ratings generation. So requests that queued
/// while a generation ran become one generation, not one each, and a delivery whose request an
/// earlier batch applied is acknowledged at once. A redelivery after a crash finds its requests
/// still running and applies them again: the incremental generations resume, and books or ratings
/// already applied are not applied twice.
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
                return .deadLetter(reason: "reindex message: no request \(message.requestID) in \(store.path)")
            }
            if request.state == .done || request.state == .failed { return .ack }
            try applyPending()
            return .ack
        } catch {
            return .retry(error: "\(error)")
        }
    }

    /// Applies every pending request: their books in one generation, then their ratings in one.
    func applyPending() throws {
        let pending = try store.pendingReindexRequests()
        for kind in [ReindexRequest.Kind.books, .ratings] {
            let batch = pending.filter { $0.kind == kind }
            guard !batch.isEmpty else { continue }
            let ids = batch.map(\.id)
            try store.markReindexRequests(ids, state: .running, generationID: nil)
            log("reindex: applying \(kind.rawValue) of request(s) \(ids.map(String.init).joined(separator: ", "))")
            do {
                let runner = try runner()
                let outcome = kind == .books ? try runner.addBooks() : try runner.addRatings()
                try store.markReindexRequests(ids, state: .done, generationID: outcome.activeGenerationID)
                log("reindex: request(s) \(ids.map(String.init).joined(separator: ", ")) done: generation \(outcome.activeGenerationID) active, \(outcome.count) \(kind == .books ? "new books" : "readers rescored")")
            } catch let failure as RunFailure {
                try store.markReindexRequests(ids, state: .failed, generationID: nil, reason: failure.description)
                log("reindex: request(s) \(ids.map(String.init).joined(separator: ", ")) failed: \(failure.description)")
            }
        }
    }
}

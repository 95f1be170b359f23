import BookrecMetrics
import BookrecStore
import Foundation
import Hummingbird
import Prometheus

/// The JSON API under /v1, the covers, health, the OpenAPI document and the metrics.
struct APIRoutes {
    /// The most books one answer lists, and the most candidates one rank request scores.
    static let maximumBooks = 1_000
    /// The largest rank request body: 1,000 ids with room for spaces.
    static let maximumRankBody = 64 * 1024

    let generations: GenerationFollower
    let registry: PrometheusCollectorRegistry

    func add(to router: Routes) {
        router.get("/v1/readers/:id/recommendations") { request, context in
            let user = try pathID(context, "id")
            let k = try bookCount(request)
            let served = try await generations.current()
            return try json(try served.recommendationList(user: user, k: k, vectors: served.vectors))
        }
        router.get("/v1/books/:id") { _, context in
            let book = try pathID(context, "id")
            return try json(try generations.openStore().bookDetails(book))
        }
        router.get("/v1/books/:id/similar") { request, context in
            let book = try pathID(context, "id")
            let k = try bookCount(request)
            let served = try await generations.current()
            return try json(try served.similarBooks(book: book, k: k, vectors: served.vectors))
        }
        router.post("/v1/rank") { request, context in
            let body = try await request.body.collect(upTo: Self.maximumRankBody)
            let rankRequest: RankRequest
            do {
                rankRequest = try decodeAnswer(RankRequest.self, from: Data(buffer: body))
            } catch {
                throw Problem(.badRequest, "the body must be JSON {\"user_id\": integer, \"book_ids\": [integer, …]}: \(describe(error))")
            }
            guard (1...Self.maximumBooks).contains(rankRequest.bookIDs.count) else {
                throw Problem(.unprocessableContent, "book_ids must list 1 to \(Self.maximumBooks) books (got \(rankRequest.bookIDs.count))")
            }
            let served = try await generations.current()
            return try json(try served.reader.rankedBooks(user: rankRequest.userID, books: rankRequest.bookIDs, vectors: served.vectors))
        }
        router.get("/v1/status") { _, _ in
            try json(try generations.openStore().statusReport())
        }
        router.get("/v1/reindex/:id") { _, context in
            try json(try generations.openStore().reindexStatus(try pathID(context, "id")))
        }
        router.get("/covers/:id") { request, context in
            try cover(request: request, book: try pathID(context, "id"))
        }
        router.get("/healthz") { _, _ in
            try json(Health(status: "ok"))
        }
        router.get("/readyz") { _, _ in
            let served = try await generations.current()
            return try json(Readiness(status: "ready", generation: served.generationID))
        }
        let document = openAPIDocument
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        router.get("/metrics") { _, _ in PrometheusEndpoint.response(registry) }
    }

    /// The stored cover bytes, with their content hash as the ETag: a browser that has them asks
    /// again with If-None-Match and gets 304.
    private func cover(request: Request, book: Int) throws -> Response {
        let store = try generations.openStore()
        guard let hash = try store.coverHashes(bookIDs: [book])[book], let bytes = try store.coverBytes(bookID: book) else {
            throw Problem(.notFound, "book \(book) has no cover (or there is no such book)")
        }
        let etag = "\"\(hash)\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=86400"]
        if let presented = request.headers[.ifNoneMatch], presented.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = imageType(bytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

struct RankRequest: Codable {
    var userID: Int
    var bookIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case userID = "user_id", bookIDs = "book_ids"
    }
}

struct Health: Codable {
    var status: String
}

struct Readiness: Codable {
    var status: String
    var generation: Int
}

/// A JSON answer with status 200.
func json<T: Encodable>(_ value: T) throws -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encodeAnswer(value))))
}

/// A path segment that must be an integer id.
func pathID(_ context: BasicRequestContext, _ name: String) throws -> Int {
    let text = context.parameters.get(name) ?? ""
    guard let id = Int(text) else { throw Problem(.badRequest, "\(name) must be an integer (got \"\(text)\")") }
    return id
}

/// The `k` query parameter: how many books, 10 when absent.
func bookCount(_ request: Request) throws -> Int {
    guard let text = request.uri.queryParameters.get("k") else { return 10 }
    guard let k = Int(text) else { throw Problem(.badRequest, "k must be an integer (got \"\(text)\")") }
    guard (1...APIRoutes.maximumBooks).contains(k) else {
        throw Problem(.unprocessableContent, "k must be between 1 and \(APIRoutes.maximumBooks) (got \(k))")
    }
    return k
}

/// The media type of stored cover bytes, from their first bytes (covers are JPEG or PNG).
func imageType(_ bytes: Data) -> String {
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
    return "application/octet-stream"
}

/// A decoding error in a sentence: which field, and what was wrong.
func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, _): return "\(key.stringValue) is missing"
    case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context)): \(context.debugDescription)"
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "not valid JSON (\(context.debugDescription))" : "\(path(context)): \(context.debugDescription)"
    @unknown default: return "\(error)"
    }
}

/// The service's OpenAPI 3.1 description (`Resources/openapi.json`, beside the executables in
/// `bookrec_BookrecService.resources`). Its schemas are the Codable answers of Answers.swift in
/// their JSON form; the tests run schemathesis against the live server with it, so the two cannot
/// drift apart unnoticed.
let openAPIDocument: [UInt8] = {
    guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let bytes = try? Data(contentsOf: url) else {
        fatalError("the OpenAPI document (openapi.json) is missing from bookrec_BookrecService.resources beside the executable")
    }
    return [UInt8](bytes)
}()

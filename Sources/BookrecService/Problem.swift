import BookrecStore
import Foundation
import Hummingbird
import Logging

/// An error answer as RFC 9457 problem details (`application/problem+json`): the status, its
/// title and a detail that says what was wrong with the request.
public struct Problem: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let detail: String
    /// Headers the answer carries besides its content type (`Allow` with a 405).
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: [String: Any] = ["type": "about:blank", "title": status.reasonPhrase, "status": status.code, "detail": detail]
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        var headers = headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error a route throws into a Problem: an unknown reader or book is 404, the
/// router's own errors keep their status, and anything else is a 500 whose cause is logged,
/// not sent.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as QueryError {
            throw Problem(.notFound, error.description)
        } catch let error as HTTPError {
            throw Problem(error.status, error.body ?? defaultDetail(error.status, request))
        } catch let error as any HTTPResponseError {
            throw Problem(error.status, defaultDetail(error.status, request))
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            throw Problem(.internalServerError, "the server could not answer; its log says why")
        }
    }

    private func defaultDetail(_ status: HTTPResponse.Status, _ request: Request) -> String {
        switch status {
        case .notFound: return "no such resource: \(request.uri.path)"
        case .contentTooLarge: return "the request body is too large"
        default: return status.reasonPhrase
        }
    }
}

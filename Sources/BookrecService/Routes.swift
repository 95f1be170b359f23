import Hummingbird

/// Adds routes to a router and remembers which methods each path answers, so that every other
/// method on a known path gets 405 with an `Allow` header instead of the router's 404.
final class Routes {
    let router: Router<BasicRequestContext>
    private var methods: [(path: RouterPath, allowed: [HTTPRequest.Method])] = []

    init(router: Router<BasicRequestContext>) {
        self.router = router
    }

    func get(_ path: RouterPath, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        add(.get, path, handler)
    }

    func post(_ path: RouterPath, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        add(.post, path, handler)
    }

    private func add(_ method: HTTPRequest.Method, _ path: RouterPath, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        router.on(path, method: method, use: handler)
        if let index = methods.firstIndex(where: { $0.path.description == path.description }) {
            methods[index].allowed.append(method)
        } else {
            methods.append((path, [method]))
        }
    }

    /// Registers the 405 answers; call once every route is added. (HEAD is left to the router,
    /// made with `.autoGenerateHeadEndpoints`, which answers it for every GET route.)
    func refuseOtherMethods() {
        let standard: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options, .trace, .connect, HTTPRequest.Method("QUERY")!]
        for (path, allowed) in methods {
            let allow = (allowed.contains(.get) ? allowed + [.head] : allowed).map(\.rawValue).joined(separator: ", ")
            for method in standard where !allowed.contains(method) {
                router.on(path, method: method) { request, _ -> Response in
                    throw Problem(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); allowed: \(allow)", headers: [.allow: allow])
                }
            }
        }
    }
}

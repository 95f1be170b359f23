import BookrecStore
import Foundation
import Hummingbird
import Mustache

/// Server-rendered HTML pages: a reader's top books with covers and why, a book with its similar
/// books, a box to look either up. No JavaScript; every image has an alt text.
struct PageRoutes {
    let generations: GenerationFollower
    let templates: MustacheLibrary

    init(generations: GenerationFollower) throws {
        self.generations = generations
        var library = MustacheLibrary()
        for (name, text) in PageTemplates.all { try library.register(text, named: name) }
        templates = library
    }

    func add(to router: Routes) {
        router.get("/") { _, _ in
            try await page {
                let served = try await generations.current()
                let readers = served.exampleReaders
                return try render("home", HomePage(generation: served.generationID, exampleReaders: readers))
            }
        }
        router.get("/readers") { request, _ in try lookup(request, path: "readers") }
        router.get("/books") { request, _ in try lookup(request, path: "books") }
        router.get("/readers/:id") { _, context in
            try await page {
                let user = try pagePathID(context)
                let served = try await generations.current()
                let list = try served.recommendationList(user: user, k: 10, vectors: served.vectors)
                let covered = try coveredBooks(served.reader.store, list.recommendations.map(\.bookID))
                let cards = list.recommendations.map { entry in
                    BookCard(
                        bookID: entry.bookID, title: entry.title, authors: entry.authors, rank: entry.rank,
                        score: String(format: "%.3f", entry.score), closeTo: entry.closeTo, covers: covered)
                }
                return try render("reader", ReaderPage(userID: user, generation: served.generationID, books: cards, count: cards.count))
            }
        }
        router.get("/books/:id") { _, context in
            try await page {
                let id = try pagePathID(context)
                let served = try await generations.current()
                let store = served.reader.store
                let book = try store.bookDetails(id)
                let similar = served.vectors.contains(book: id) ? try served.similarBooks(book: id, k: 10, vectors: served.vectors).similar : []
                let covered = try coveredBooks(store, [id] + similar.map(\.bookID))
                let cards = similar.enumerated().map { index, entry in
                    BookCard(
                        bookID: entry.bookID, title: entry.title, authors: entry.authors, rank: index + 1,
                        score: String(format: "%.3f", entry.similarity), closeTo: nil, covers: covered)
                }
                return try render("book", BookPage(
                    book: BookCard(bookID: id, title: book.title, authors: book.authors, rank: nil, score: nil, closeTo: nil, covers: covered),
                    year: book.year.map(String.init), description: book.description, tags: book.tags.prefix(12).joined(separator: ", "),
                    generation: served.generationID, similar: cards, hasSimilar: !cards.isEmpty))
            }
        }
        router.get("/no-cover.svg") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "public, max-age=86400"],
                body: .init(byteBuffer: ByteBuffer(string: PageTemplates.placeholderCover)))
        }
    }

    /// The books among these that have a stored cover.
    private func coveredBooks(_ store: Store, _ ids: [Int]) throws -> Set<Int> {
        Set(try store.coverHashes(bookIDs: ids).keys)
    }

    /// `/readers?id=42` (the look-up box) → `/readers/42`.
    private func lookup(_ request: Request, path: String) throws -> Response {
        let text = request.uri.queryParameters.get("id")?.trimmingCharacters(in: .whitespaces) ?? ""
        guard let id = Int(text) else {
            return try errorPage(.badRequest, "“\(text)” is not a \(path == "readers" ? "reader" : "book") id: ids are whole numbers.")
        }
        return Response(status: .seeOther, headers: [.location: "/\(path)/\(id)"])
    }

    private func pagePathID(_ context: BasicRequestContext) throws -> Int {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int(text) else { throw PageError(status: .badRequest, message: "“\(text)” is not an id: ids are whole numbers.") }
        return id
    }

    /// Runs a page's body; what goes wrong becomes a page too (unknown reader: a friendly 404).
    private func page(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as PageError {
            return try errorPage(error.status, error.message)
        } catch let error as QueryError {
            return try errorPage(.notFound, "\(error.description.prefix(1).uppercased())\(error.description.dropFirst()).")
        } catch let problem as Problem {
            return try errorPage(problem.status, problem.detail)
        }
    }

    private func errorPage(_ status: HTTPResponse.Status, _ message: String) throws -> Response {
        try render("error", ErrorPage(status: status.code, title: status == .notFound ? "Not found" : status.reasonPhrase, message: message), status: status)
    }

    private func render(_ template: String, _ context: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let html = templates.render(context, withTemplate: template) else { throw Problem(.internalServerError, "no page template \(template)") }
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

struct PageError: Error {
    let status: HTTPResponse.Status
    let message: String
}

struct HomePage {
    let generation: Int
    let exampleReaders: [Int]
}

/// One book in a list: its cover (or the placeholder), title, authors, and the score or cosine.
struct BookCard {
    let bookID: Int
    let title: String
    let authors: String
    let rank: Int?
    let score: String?
    let closeTo: RelatedBook?
    let coverURL: String
    let coverAlt: String

    init(bookID: Int, title: String, authors: String, rank: Int?, score: String?, closeTo: RelatedBook?, covers: Set<Int>?) {
        self.bookID = bookID
        self.title = title
        self.authors = authors
        self.rank = rank
        self.score = score
        self.closeTo = closeTo
        let hasCover = covers?.contains(bookID) ?? false
        coverURL = hasCover ? "/covers/\(bookID)" : "/no-cover.svg"
        coverAlt = hasCover ? "Cover of \(title)" : "No cover for \(title)"
    }
}

struct ReaderPage {
    let userID: Int
    let generation: Int
    let books: [BookCard]
    /// Stored, not computed: templates see stored properties only (Mirror).
    let count: Int
}

struct BookPage {
    let book: BookCard
    let year: String?
    let description: String
    let tags: String
    let generation: Int
    let similar: [BookCard]
    let hasSimilar: Bool
}

struct ErrorPage {
    let status: Int
    let title: String
    let message: String
}

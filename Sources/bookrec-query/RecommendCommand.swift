import ArgumentParser
import BookrecStore
import Foundation

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recommend", abstract: "A reader's top-K books with titles, authors and scores.")

    @Option(help: "The reader's user_id.") var user: Int
    @Option(name: .short, help: "How many books.") var k = 10
    @OptionGroup var options: QueryOptions

    func validate() throws { try validateBookCount(k) }

    func run() throws {
        let reader = try options.reader()
        try reportingErrors {
            let list = try reader.recommendations(user: user, k: k)
            let books = try reader.booksByID(list.map(\.bookID))
            if options.json {
                try printJSON(list.map { ["rank": $0.rank, "book_id": $0.bookID, "score": $0.score, "title": books[$0.bookID]?.title ?? "", "authors": books[$0.bookID]?.authors ?? ""] as [String: Any] })
            } else {
                print("Top \(list.count) for reader \(user) (generation \(reader.generationID)):")
                for entry in list {
                    let book = books[entry.bookID]
                    print(String(format: "%3d. %@  —  %@  [book %d, score %.4f]", entry.rank, book?.title ?? "?", book?.authors ?? "?", entry.bookID, entry.score))
                }
            }
        }
    }
}

struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "similar", abstract: "Nearest books by item vector (cosine).")

    @Option(help: "The book_id.") var book: Int
    @Option(name: .short, help: "How many books.") var k = 10
    @OptionGroup var options: QueryOptions

    func validate() throws { try validateBookCount(k) }

    func run() throws {
        let reader = try options.reader()
        try reportingErrors {
            let source = try reader.book(book)
            let list = try reader.similar(book: book, k: k)
            let books = try reader.booksByID(list.map(\.bookID))
            if options.json {
                try printJSON(list.map { ["book_id": $0.bookID, "similarity": Double($0.similarity), "title": books[$0.bookID]?.title ?? "", "authors": books[$0.bookID]?.authors ?? ""] as [String: Any] })
            } else {
                print("Books like \(source.title) (book \(book)):")
                for (rank, entry) in list.enumerated() {
                    let other = books[entry.bookID]
                    print(String(format: "%3d. %@  —  %@  [book %d, cosine %.4f]", rank + 1, other?.title ?? "?", other?.authors ?? "?", entry.bookID, entry.similarity))
                }
            }
        }
    }
}

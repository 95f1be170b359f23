import ArgumentParser
import BookrecService
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
            let answer = try reader.recommendationList(user: user, k: k)
            if options.json { return try printJSON(answer) }
            print("Top \(answer.recommendations.count) for reader \(user) (generation \(answer.generation)):")
            for entry in answer.recommendations {
                print(String(format: "%3d. %@  —  %@  [book %d, score %.4f]", entry.rank, entry.title, entry.authors, entry.bookID, entry.score))
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
            let answer = try reader.similarBooks(book: book, k: k, vectors: try reader.bookVectors())
            if options.json { return try printJSON(answer) }
            print("Books like \(try reader.book(book).title) (book \(book)):")
            for (rank, entry) in answer.similar.enumerated() {
                print(String(format: "%3d. %@  —  %@  [book %d, cosine %.4f]", rank + 1, entry.title, entry.authors, entry.bookID, entry.similarity))
            }
        }
    }
}

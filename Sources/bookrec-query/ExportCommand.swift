import ArgumentParser
import BookrecStore
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Every reader's top-K as CSV user_id,rank,book_id,score, streamed.",
        discussion: "K is at most the number of books the run stored per reader (50 by default).")

    @Option(name: .short, help: "Books per reader.") var k = 20
    @OptionGroup var options: QueryOptions

    func validate() throws { try validateBookCount(k) }

    func run() throws {
        let reader = try options.reader()
        try reportingErrors {
            var output = BufferedOutput()
            if !options.json { output.write("user_id,rank,book_id,score\n") }
            try reader.store.forEachRecommendation(generationID: reader.generationID, limit: k) { user, entry in
                output.write(options.json
                    ? "{\"book_id\":\(entry.bookID),\"rank\":\(entry.rank),\"score\":\(formatScore(entry.score)),\"user_id\":\(user)}\n"
                    : "\(user),\(entry.rank),\(entry.bookID),\(formatScore(entry.score))\n")
            }
            output.flush()
        }
    }
}

import ArgumentParser
import BookrecCLI
import BookrecService
import BookrecStore
import Foundation

struct RankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Scores candidate books for a reader, or user,book pairs in bulk.",
        discussion: """
            With --user and --books, prints the candidates best first. With --pairs FILE (CSV user_id,book_id, \
            header optional; - for standard input), streams CSV user_id,book_id,score in input order; rows with \
            an unknown reader or book are reported on standard error with their line and skipped.
            """)

    @Option(help: "The reader's user_id.") var user: Int?
    @Option(help: ArgumentHelp("Comma-separated book ids.", valueName: "ids")) var books: String?
    @Option(help: ArgumentHelp("CSV of user_id,book_id pairs.", valueName: "file")) var pairs: String?
    @OptionGroup var options: QueryOptions

    func validate() throws {
        if pairs == nil && (user == nil || books == nil) { throw ValidationError("give --user and --books, or --pairs FILE") }
        if pairs != nil && (user != nil || books != nil) { throw ValidationError("--pairs cannot be combined with --user or --books") }
    }

    func run() throws {
        let reader = try options.reader()
        try reportingErrors {
            if let pairs {
                try rankPairs(reader: reader, path: pairs)
                return
            }
            let ids = try books!.split(separator: ",").map { part -> Int in
                guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else { throw QueryError("\"\(part)\" is not a book id") }
                return id
            }
            let answer = try reader.rankedBooks(user: user!, books: ids, vectors: try reader.bookVectors())
            if options.json { return try printJSON(answer) }
            for (position, entry) in answer.ranked.enumerated() { print("\(position + 1). book \(entry.bookID)  score \(formatScore(entry.score))") }
        }
    }

    private func rankPairs(reader: QueryReader, path: String) throws {
        guard let input = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path) else {
            throw QueryError("cannot read \(path)")
        }
        let scorer = PairScorer(store: reader.store, vectors: try reader.bookVectors())
        var output = BufferedOutput()
        var scored = 0, rejected = 0, line = 0
        if !options.json { output.write("user_id,book_id,score\n") }
        for text in LineReader(handle: input) {
            line += 1
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 2, let user = Int(fields[0]), let book = Int(fields[1]) else {
                if line == 1 && fields.first == "user_id" { continue }
                if !text.isEmpty {
                    printError("\(path):\(line): expected user_id,book_id")
                    rejected += 1
                }
                continue
            }
            do {
                let score = try scorer.score(user: user, book: book)
                output.write(options.json ? "{\"book_id\":\(book),\"score\":\(score),\"user_id\":\(user)}\n" : "\(user),\(book),\(formatScore(Double(score)))\n")
                scored += 1
            } catch let error as QueryError {
                printError("\(path):\(line): \(error)")
                rejected += 1
            }
        }
        output.flush()
        printError("rank: \(scored) pairs scored, \(rejected) rejected")
    }
}

/// Lines of a file, read in blocks: bulk inputs of millions of pairs stream in constant memory.
struct LineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    private var buffer = Data()
    private var finished = false

    init(handle: FileHandle) {
        self.handle = handle
    }

    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                return String(decoding: line, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            }
            if finished {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { finished = true } else { buffer.append(chunk) }
        }
    }
}

/// Standard output in large writes; print() per line is far too slow for bulk output.
struct BufferedOutput {
    private var buffer = Data()

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

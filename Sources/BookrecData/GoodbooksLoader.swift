import BookrecCore
import BookrecImaging
import Foundation

/// What an import read: the good rows, and a problem for every row or file it skipped.
public struct CatalogImport: Sendable {
    public var books: [Book] = []
    public var ratings: [Rating] = []
    /// Encoded image bytes by book id; each one decoded successfully at import.
    public var covers: [Int: Data] = [:]
    public var problems: [InputProblem] = []
    /// Accepted and rejected rows per file.
    public var counts: [String: (accepted: Int, rejected: Int)] = [:]
    /// Where each accepted book was read, when it came from a file of new books.
    public var bookOrigins: [Int: (file: String, line: Int)] = [:]

    /// Counts a row of `file`, and records the problem if it was rejected.
    mutating func tally(_ file: String, line: Int?, rejection reason: String?, reportedAs reportedFile: String? = nil) {
        if let reason { problems.append(InputProblem(file: reportedFile ?? file, line: line, reason: reason)) }
        count(file, accepted: reason == nil ? 1 : 0, rejected: reason == nil ? 0 : 1)
    }

    mutating func count(_ file: String, accepted: Int, rejected: Int) {
        let current = counts[file] ?? (0, 0)
        counts[file] = (current.accepted + accepted, current.rejected + rejected)
    }

    /// Turns an accepted book of a new-books file into a rejected row with `reason`.
    public mutating func reject(book id: Int, reason: String) {
        guard let origin = bookOrigins.removeValue(forKey: id) else { return }
        books.removeAll { $0.id == id }
        covers[id] = nil
        problems.append(InputProblem(file: origin.file, line: origin.line, reason: reason))
        count(origin.file, accepted: -1, rejected: 1)
    }
}

/// Reads a folder in the goodbooks layout (see data/goodbooks/README.md). Missing optional files
/// (tags, genres, descriptions, covers) are reported and the rest imports.
public struct GoodbooksLoader {
    public let directory: URL
    public let imageDecoder: ImageDecoder
    /// Tags kept per book, by weight; the long tail is mostly noise.
    public let tagsPerBook: Int

    public init(directory: URL, imageDecoder: ImageDecoder = ImageDecoder(), tagsPerBook: Int = 20) {
        self.directory = directory
        self.imageDecoder = imageDecoder
        self.tagsPerBook = tagsPerBook
    }

    public func load() -> CatalogImport {
        var result = CatalogImport()
        guard let booksCSV = read("books.csv", required: ["book_id", "title", "authors"], into: &result) else { return result }
        var books = parseBooks(booksCSV, into: &result)
        let known = Set(books.keys)
        if let csv = read("book_descriptions.csv", required: ["book_id", "description"], into: &result) {
            for (id, description) in parseDescriptions(csv, known: known, into: &result) { books[id]?.description = description }
        }
        if let tagNames = read("tags.csv", required: ["tag_id", "tag_name"], into: &result),
           let bookTags = read("book_tags.csv", required: ["book_id", "tag_id", "weight"], into: &result) {
            for (id, tags) in parseTags(names: tagNames, bookTags: bookTags, known: known, into: &result) { books[id]?.tags = tags }
        }
        if let csv = read("book_genres.csv", required: ["book_id", "genres"], into: &result) {
            for (id, genres) in parseGenres(csv, known: known, into: &result) { books[id]?.genres = genres }
        }
        if let csv = read("ratings.csv", required: ["user_id", "book_id", "rating"], into: &result) {
            result.ratings = RatingsParser.parse(csv, known: known, into: &result)
        }
        if let csv = read("covers_manifest.csv", required: ["book_id", "file"], into: &result) {
            result.covers = loadCovers(csv, known: known, into: &result)
        }
        result.books = books.values.sorted { $0.id < $1.id }
        return result
    }

    private func read(_ name: String, required: [String], into result: inout CatalogImport) -> CSVReader? {
        let url = directory.appendingPathComponent(name)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            result.problems.append(InputProblem(file: url.path, line: nil, reason: "cannot read the file: \(readFailure(error))"))
            return nil
        }
        let reader = CSVReader(file: url.path, data: data, requiredColumns: required)
        result.problems += reader.problems
        result.count(url.path, accepted: 0, rejected: reader.problems.count)
        return reader.hasUsableHeader ? reader : nil
    }

    private func parseBooks(_ csv: CSVReader, into result: inout CatalogImport) -> [Int: Book] {
        var books: [Int: Book] = [:]
        let id = csv.column("book_id")!, title = csv.column("title")!, authors = csv.column("authors")!
        let year = csv.column("original_publication_year"), language = csv.column("language_code"), isbn = csv.column("isbn13")
        for record in csv.records {
            let f = record.fields
            var reason: String?
            if let bookID = Int(f[id]), bookID > 0 {
                if books[bookID] != nil {
                    reason = "duplicate book_id \(bookID)"
                } else if f[title].trimmingCharacters(in: .whitespaces).isEmpty {
                    reason = "empty title"
                } else {
                    switch publicationYear(year.map { f[$0] } ?? "") {
                    case .failure(let problem):
                        reason = problem.reason
                    case .success(let year):
                        books[bookID] = Book(
                            id: bookID, title: f[title], authors: f[authors], year: year, language: language.map { f[$0] } ?? "",
                            isbn13: isbn.map { f[$0] } ?? "")
                    }
                }
            } else {
                reason = "book_id \"\(f[id])\" is not a positive integer"
            }
            result.tally(csv.file, line: record.line, rejection: reason)
        }
        return books
    }

    private func parseDescriptions(_ csv: CSVReader, known: Set<Int>, into result: inout CatalogImport) -> [Int: String] {
        var descriptions: [Int: String] = [:]
        let id = csv.column("book_id")!, description = csv.column("description")!
        for record in csv.records {
            switch knownBook(record.fields[id], known) {
            case .success(let bookID):
                descriptions[bookID] = record.fields[description]
                result.tally(csv.file, line: record.line, rejection: nil)
            case .failure(let problem):
                result.tally(csv.file, line: record.line, rejection: problem.description)
            }
        }
        return descriptions
    }

    private func parseTags(names: CSVReader, bookTags: CSVReader, known: Set<Int>, into result: inout CatalogImport) -> [Int: [String]] {
        var tagName: [Int: String] = [:]
        for record in names.records {
            let tagID = Int(record.fields[names.column("tag_id")!])
            if let tagID { tagName[tagID] = record.fields[names.column("tag_name")!] }
            result.tally(names.file, line: record.line, rejection: tagID == nil ? "tag_id is not an integer" : nil)
        }
        var weighted: [Int: [(String, Double)]] = [:]
        let bookColumn = bookTags.column("book_id")!, tagColumn = bookTags.column("tag_id")!, weightColumn = bookTags.column("weight")!
        for record in bookTags.records {
            let f = record.fields
            var reason: String?
            switch knownBook(f[bookColumn], known) {
            case .failure(let problem):
                reason = problem.description
            case .success(let bookID):
                if let tagID = Int(f[tagColumn]), let name = tagName[tagID] {
                    if let weight = Double(f[weightColumn]), weight >= 0, weight <= 1 {
                        weighted[bookID, default: []].append((name, weight))
                    } else {
                        reason = "weight \"\(f[weightColumn])\" is not a number in 0…1"
                    }
                } else {
                    reason = "unknown tag_id \"\(f[tagColumn])\""
                }
            }
            result.tally(bookTags.file, line: record.line, rejection: reason)
        }
        return weighted.mapValues { tags in
            tags.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(tagsPerBook).map(\.0)
        }
    }

    private func parseGenres(_ csv: CSVReader, known: Set<Int>, into result: inout CatalogImport) -> [Int: [String]] {
        var genres: [Int: [String]] = [:]
        let id = csv.column("book_id")!, column = csv.column("genres")!
        for record in csv.records {
            var reason: String?
            switch knownBook(record.fields[id], known) {
            case .failure(let problem):
                reason = problem.description
            case .success(let bookID):
                if let list = parsePythonStringList(record.fields[column]) {
                    genres[bookID] = list
                } else {
                    reason = "genres \"\(record.fields[column].prefix(60))\" is not a list of quoted names"
                }
            }
            result.tally(csv.file, line: record.line, rejection: reason)
        }
        return genres
    }

    private func loadCovers(_ csv: CSVReader, known: Set<Int>, into result: inout CatalogImport) -> [Int: Data] {
        var covers: [Int: Data] = [:]
        let id = csv.column("book_id")!, file = csv.column("file")!
        let folder = CoverFiles(root: directory.appendingPathComponent("covers"))
        for record in csv.records {
            var reason: String?
            var problemFile = csv.file
            var problemLine: Int? = record.line
            switch knownBook(record.fields[id], known) {
            case .failure(let problem):
                reason = problem.description
            case .success(let bookID):
                let name = record.fields[file]
                if name.contains("/") || name.isEmpty || name == ".." {
                    reason = "cover file name \"\(name)\" must be a plain file name inside covers/"
                } else {
                    switch folder.read(name) {
                    case .failure(let problem):
                        reason = problem.reason
                    case .success(let bytes):
                        do {
                            _ = try imageDecoder.decode(bytes)
                            covers[bookID] = bytes
                        } catch {
                            reason = "\(error)"
                            problemFile = folder.root.appendingPathComponent(name).path
                            problemLine = nil
                        }
                    }
                }
            }
            result.tally(csv.file, line: problemLine, rejection: reason, reportedAs: problemFile)
        }
        return covers
    }
}

/// Ratings CSV (`user_id,book_id,rating`), shared by the import and `add-ratings`.
public enum RatingsParser {
    /// Reads a ratings file on its own (`add-ratings`): ratings of books not in `known` are rejected.
    public static func parse(file url: URL, known: Set<Int>) -> CatalogImport {
        var result = CatalogImport()
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            result.problems.append(InputProblem(file: url.path, line: nil, reason: "cannot read the file: \(readFailure(error))"))
            return result
        }
        let csv = CSVReader(file: url.path, data: data, requiredColumns: ["user_id", "book_id", "rating"])
        result.problems += csv.problems
        result.count(url.path, accepted: 0, rejected: csv.problems.count)
        if csv.hasUsableHeader {
            result.ratings = parse(csv, known: known, into: &result)
        }
        return result
    }

    public static func parse(_ csv: CSVReader, known: Set<Int>, into result: inout CatalogImport) -> [Rating] {
        var ratings: [Rating] = []
        var firstLine: [RatingKey: Int] = [:]
        let user = csv.column("user_id")!, book = csv.column("book_id")!, value = csv.column("rating")!
        for record in csv.records {
            let f = record.fields
            var reason: String?
            if let userID = Int(f[user]), userID > 0 {
                switch knownBook(f[book], known) {
                case .failure(let problem):
                    reason = problem.description
                case .success(let bookID):
                    if let rating = Int(f[value]), (1...5).contains(rating) {
                        let key = RatingKey(user: userID, book: bookID)
                        if let first = firstLine[key] {
                            reason = "duplicate rating of book \(bookID) by user \(userID) (first on line \(first))"
                        } else {
                            firstLine[key] = record.line
                            ratings.append(Rating(user: userID, book: bookID, rating: rating))
                        }
                    } else {
                        reason = "rating \"\(f[value])\" is not an integer from 1 to 5"
                    }
                }
            } else {
                reason = "user_id \"\(f[user])\" is not a positive integer"
            }
            result.tally(csv.file, line: record.line, rejection: reason)
        }
        return ratings
    }
}

struct UnknownBook: Error, CustomStringConvertible {
    let description: String
}

func knownBook(_ field: String, _ known: Set<Int>) -> Result<Int, UnknownBook> {
    guard let id = Int(field) else { return .failure(UnknownBook(description: "book_id \"\(field)\" is not an integer")) }
    guard known.contains(id) else { return .failure(UnknownBook(description: "unknown book_id \(id)")) }
    return .success(id)
}

/// Parses `['A', "B's"]`, the Python list syntax of book_genres.csv.
func parsePythonStringList(_ text: String) -> [String]? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasPrefix("["), trimmed.hasSuffix("]") else { return nil }
    var items: [String] = []
    var characters = Array(trimmed.dropFirst().dropLast())[...]
    while true {
        while let first = characters.first, first == " " || first == "," { characters = characters.dropFirst() }
        guard let quote = characters.first else { return items }
        guard quote == "'" || quote == "\"" else { return nil }
        characters = characters.dropFirst()
        guard let end = characters.firstIndex(of: quote) else { return nil }
        items.append(String(characters[characters.startIndex..<end]))
        characters = characters[(end + 1)...]
    }
}

/// A (reader, book) pair, for finding a second rating of the same pair among ids of any size.
private struct RatingKey: Hashable {
    let user: Int
    let book: Int
}

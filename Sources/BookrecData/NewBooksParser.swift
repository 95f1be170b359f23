import BookrecCore
import BookrecImaging
import Foundation

/// Reads the books of `add-books`: CSV with the columns of books.csv (`book_id`, `title`,
/// `authors`, optionally `original_publication_year`, `language_code`, `isbn13`) plus optional
/// `description`, `tags` and `genres` (names separated by `|`) and `cover` (an image path,
/// relative to the file's folder and inside it, or inside `coversRoot`: `CoverFiles`), or JSON lines with the same keys (`tags` and `genres` may also
/// be arrays). Files ending in .jsonl, .ndjson or .json are JSON lines; anything else is CSV.
///
/// A row with a bad field or an unreadable cover is reported as `file:line: reason` and skipped.
public struct NewBooksParser {
    public let imageDecoder: ImageDecoder
    /// Where covers may be read from; nil means the folder of the file being parsed.
    public let coversRoot: URL?

    public init(imageDecoder: ImageDecoder = ImageDecoder(), coversRoot: URL? = nil) {
        self.imageDecoder = imageDecoder
        self.coversRoot = coversRoot
    }

    public func parse(file url: URL) -> CatalogImport {
        var result = CatalogImport()
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            result.problems.append(InputProblem(file: url.path, line: nil, reason: "cannot read the file: \(readFailure(error))"))
            return result
        }
        let rows = ["jsonl", "ndjson", "json"].contains(url.pathExtension.lowercased())
            ? jsonLines(data, file: url.path, into: &result) : csvRows(data, file: url.path, into: &result)
        var seen: [Int: Int] = [:]
        let covers = CoverFiles(root: coversRoot ?? url.deletingLastPathComponent())
        for row in rows {
            switch book(from: row.fields, covers: covers) {
            case .success(let (book, cover)):
                if let first = seen[book.id] {
                    result.tally(url.path, line: row.line, rejection: "duplicate book_id \(book.id) (first on line \(first))")
                    continue
                }
                seen[book.id] = row.line
                result.bookOrigins[book.id] = (url.path, row.line)
                result.books.append(book)
                if let cover { result.covers[book.id] = cover }
                result.tally(url.path, line: row.line, rejection: nil)
            case .failure(let problem):
                result.tally(url.path, line: row.line, rejection: problem.reason)
            }
        }
        return result
    }

    struct RowProblem: Error {
        let reason: String
    }

    /// A row's fields by column name; absent columns are absent keys.
    typealias Row = (line: Int, fields: [String: Field])

    enum Field {
        case text(String)
        case list([String])
        /// A JSON number as text: an integer exactly as sent, whatever its size (validation says
        /// whether it fits), any other number in its shortest decimal form.
        case number(String)

        init(_ number: NSNumber) {
            let type = String(cString: number.objCType)
            if type == "d" || type == "f" {
                let value = number.doubleValue
                self = .number(Int64(exactly: value).map(String.init) ?? "\(value)")
            } else {
                self = .number(number.stringValue)
            }
        }
    }

    private func csvRows(_ data: Data, file: String, into result: inout CatalogImport) -> [Row] {
        let csv = CSVReader(file: file, data: data, requiredColumns: ["book_id", "title", "authors"])
        result.problems += csv.problems
        result.count(file, accepted: 0, rejected: csv.problems.count)
        return csv.records.map { record in
            (record.line, Dictionary(uniqueKeysWithValues: zip(csv.header, record.fields.map(Field.text))))
        }
    }

    private func jsonLines(_ data: Data, file: String, into result: inout CatalogImport) -> [Row] {
        var rows: [Row] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                result.tally(file, line: lineNumber, rejection: "not a JSON object on one line")
                continue
            }
            var fields: [String: Field] = [:]
            var problem: String?
            for (key, value) in object {
                switch value {
                case let text as String: fields[key] = .text(text)
                case let number as NSNumber: fields[key] = Field(number)
                case let list as [String]: fields[key] = .list(list)
                case is NSNull: continue
                default: problem = problem ?? "\"\(key)\" must be a string, a number or a list of strings"
                }
            }
            if let problem {
                result.tally(file, line: lineNumber, rejection: problem)
            } else {
                rows.append((lineNumber, fields))
            }
        }
        return rows
    }

    private func book(from fields: [String: Field], covers: CoverFiles) -> Result<(Book, Data?), RowProblem> {
        func fail(_ reason: String) -> Result<(Book, Data?), RowProblem> { .failure(RowProblem(reason: reason)) }
        func text(_ key: String) -> String? {
            switch fields[key] {
            case .text(let value): return value
            case .number(let value): return value
            case .list(let values): return values.joined(separator: "|")
            case nil: return nil
            }
        }
        func names(_ key: String) -> [String] {
            switch fields[key] {
            case .list(let values): return values
            default:
                return (text(key) ?? "").split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        }
        guard let idText = text("book_id"), let id = Int(idText), id > 0 else {
            return fail("book_id \"\(text("book_id") ?? "")\" is not a positive integer")
        }
        guard let title = text("title"), !title.trimmingCharacters(in: .whitespaces).isEmpty else { return fail("empty title") }
        guard let authors = text("authors"), !authors.trimmingCharacters(in: .whitespaces).isEmpty else { return fail("empty authors") }
        let year: Int?
        switch publicationYear(text("original_publication_year") ?? "") {
        case .success(let value): year = value
        case .failure(let problem): return fail(problem.reason)
        }
        let book = Book(
            id: id, title: title, authors: authors, year: year, language: text("language_code") ?? "", isbn13: text("isbn13") ?? "",
            description: text("description") ?? "", tags: names("tags"), genres: names("genres"))
        guard let coverPath = text("cover"), !coverPath.isEmpty else { return .success((book, nil)) }
        switch covers.read(coverPath) {
        case .failure(let problem):
            return fail(problem.reason)
        case .success(let bytes):
            do {
                _ = try imageDecoder.decode(bytes)
            } catch {
                return fail("cover \(coverPath): \(error)")
            }
            return .success((book, bytes))
        }
    }
}

import Foundation

/// One CSV record and the line of the file it starts on (1-based; line 1 is the header).
public struct CSVRecord: Equatable, Sendable {
    public let line: Int
    public let fields: [String]
}

/// A problem with one row or file of the input, reported as `file:line: reason` and skipped.
public struct InputProblem: Error, Equatable, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)" }

    /// A problem with the file as a whole (unreadable, empty, a bad header) rather than with a row.
    public var concernsTheWholeFile: Bool { line == nil || line == 1 }
}

/// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks.
///
/// A malformed record (an unterminated quote, text after a closing quote, invalid UTF-8, a
/// wrong number of fields) becomes a problem naming its line; reading resumes at the next line.
public struct CSVReader {
    public let file: String
    public private(set) var header: [String] = []
    public private(set) var records: [CSVRecord] = []
    public private(set) var problems: [InputProblem] = []

    public init(file: String, data: Data, requiredColumns: [String]) {
        self.file = file
        let bytes = [UInt8](data)
        var position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        guard position < bytes.count else {
            problems.append(InputProblem(file: file, line: nil, reason: "empty file (expected a header with \(requiredColumns.joined(separator: ",")))"))
            return
        }
        switch Self.parseRecord(bytes, &position, &line) {
        case .success(let fields):
            header = fields
        case .failure(let problem):
            problems.append(InputProblem(file: file, line: 1, reason: "unreadable header: \(problem)"))
            return
        }
        let missing = requiredColumns.filter { !header.contains($0) }
        if !missing.isEmpty {
            problems.append(InputProblem(file: file, line: 1, reason: "missing column(s) \(missing.joined(separator: ", ")); header is \(header.joined(separator: ","))"))
            return
        }
        while position < bytes.count {
            let startLine = line
            switch Self.parseRecord(bytes, &position, &line) {
            case .success(let fields):
                if fields == [""] { continue }  // blank line
                if fields.count != header.count {
                    problems.append(InputProblem(file: file, line: startLine, reason: "expected \(header.count) fields, found \(fields.count)"))
                } else {
                    records.append(CSVRecord(line: startLine, fields: fields))
                }
            case .failure(let reason):
                problems.append(InputProblem(file: file, line: startLine, reason: reason.description))
            }
        }
    }

    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// Whether the header was read and has the required columns, so that the records mean something.
    public var hasUsableHeader: Bool { !header.isEmpty && !problems.contains(where: \.concernsTheWholeFile) }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses one record starting at `position`; on failure skips to the end of the physical line.
    static func parseRecord(_ bytes: [UInt8], _ position: inout Int, _ line: inout Int) -> Result<[String], Malformed> {
        let start = position
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        var failure: Malformed?
        func finishField() {
            if let text = String(validatingUTF8: field) {
                fields.append(text)
            } else if failure == nil {
                failure = Malformed(description: "invalid UTF-8 in field \(fields.count + 1)")
                fields.append("")
            }
            field.removeAll(keepingCapacity: true)
        }
        var quoted = false
        var afterQuote = false
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if position < bytes.count && bytes[position] == UInt8(ascii: "\"") {
                        field.append(byte)
                        position += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                finishField()
                afterQuote = false
            case UInt8(ascii: "\n"):
                line += 1
                finishField()
                return failure.map { .failure($0) } ?? .success(fields)
            case UInt8(ascii: "\r") where position < bytes.count && bytes[position] == UInt8(ascii: "\n"):
                continue
            case UInt8(ascii: "\"") where field.isEmpty && !afterQuote:
                quoted = true
            default:
                if afterQuote || byte == UInt8(ascii: "\"") {
                    skipToEndOfLine(bytes, &position, &line)
                    return .failure(Malformed(description: afterQuote ? "text after a closing quote in field \(fields.count + 1)" : "stray quote in unquoted field \(fields.count + 1)"))
                }
                field.append(byte)
            }
        }
        if quoted {
            // Resume on the next physical line rather than lose the rest of the file.
            position = start
            line = startLine
            skipToEndOfLine(bytes, &position, &line)
            return .failure(Malformed(description: "unterminated quoted field \(fields.count + 1)"))
        }
        finishField()
        return failure.map { .failure($0) } ?? .success(fields)
    }

    private static func skipToEndOfLine(_ bytes: [UInt8], _ position: inout Int, _ line: inout Int) {
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                return
            }
        }
    }
}

private extension String {
    init?(validatingUTF8 bytes: [UInt8]) {
        guard let text = String(bytes: bytes, encoding: .utf8) else { return nil }
        self = text
    }
}

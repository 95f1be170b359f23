import Foundation

/// An answer that writes its own JSON: the lists the service returns most (a reader's top books,
/// a book's nearest), where Foundation's JSONEncoder took a quarter of a request's time. Keys are
/// written sorted, as `encodeAnswer` writes every other answer; `AnswerJSONTests` checks that
/// JSONEncoder reads the same values out of both.
public protocol AnswerJSON {
    func write(to json: inout JSONText) throws
}

/// JSON text being written: punctuation and keys as given, escaped strings, finite numbers.
public struct JSONText {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(4096) }

    /// Punctuation and keys, written as they are: `{"book_id":`.
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func array<Element: AnswerJSON>(_ elements: [Element]) throws {
        raw("[")
        for (index, element) in elements.enumerated() {
            if index > 0 { raw(",") }
            try element.write(to: &self)
        }
        raw("]")
    }

    mutating func string(_ text: String) {
        raw("\"")
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: text.utf8)
        } else {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                case 0..<0x20: bytes.append(contentsOf: Array(String(format: "\\u%04x", byte).utf8))
                default: bytes.append(byte)
                }
            }
        }
        raw("\"")
    }

    mutating func number(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A finite number in Swift's shortest round-trip form; NaN and ±∞ have none in JSON.
    mutating func number(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(value) is not a JSON number"))
        }
        bytes.append(contentsOf: value.description.utf8)
    }
}

extension RecommendationList: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        json.raw("{\"generation\":")
        json.number(generation)
        json.raw(",\"recommendations\":")
        try json.array(recommendations)
        json.raw(",\"user_id\":")
        json.number(userID)
        json.raw("}")
    }
}

extension RecommendedBook: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        json.raw("{\"authors\":")
        json.string(authors)
        json.raw(",\"book_id\":")
        json.number(bookID)
        if let closeTo {
            json.raw(",\"close_to\":")
            try closeTo.write(to: &json)
        }
        json.raw(",\"rank\":")
        json.number(rank)
        json.raw(",\"score\":")
        try json.number(score)
        json.raw(",\"title\":")
        json.string(title)
        json.raw("}")
    }
}

extension RelatedBook: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        json.raw("{\"book_id\":")
        json.number(bookID)
        json.raw(",\"similarity\":")
        try json.number(similarity)
        json.raw(",\"title\":")
        json.string(title)
        json.raw("}")
    }
}

extension SimilarBooks: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        json.raw("{\"book_id\":")
        json.number(bookID)
        json.raw(",\"generation\":")
        json.number(generation)
        json.raw(",\"similar\":")
        try json.array(similar)
        json.raw("}")
    }
}

extension SimilarBook: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        json.raw("{\"authors\":")
        json.string(authors)
        json.raw(",\"book_id\":")
        json.number(bookID)
        json.raw(",\"similarity\":")
        try json.number(similarity)
        json.raw(",\"title\":")
        json.string(title)
        json.raw("}")
    }
}

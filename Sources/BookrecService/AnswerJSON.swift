import Foundation

/// An answer that writes its own JSON: the lists the service returns most (a reader's top books,
/// a book's nearest), where Foundation's JSONEncoder took a quarter of a request's time. Keys are
/// written sorted, as `encodeAnswer` writes every other answer.
public protocol AnswerJSON {
    func write(to json: inout JSONText) throws
}

/// JSON text being written: objects, arrays, escaped strings, finite numbers.
public struct JSONText {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(2048) }

    /// `{"key":value,…}`, the fields in the order given (sorted by the caller).
    mutating func object(_ fields: [(String, (inout JSONText) throws -> Void)]) throws {
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            try value(&self)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array<Element: AnswerJSON>(_ elements: [Element]) throws {
        bytes.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            try element.write(to: &self)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20: bytes.append(contentsOf: Array(String(format: "\\u%04x", byte).utf8))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func number(_ value: Int) {
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// A finite number in Swift's shortest round-trip form; NaN and ±∞ have none in JSON.
    mutating func number(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(value) is not a JSON number"))
        }
        bytes.append(contentsOf: Array(value.description.utf8))
    }
}

extension RecommendationList: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        try json.object([
            ("generation", { $0.number(generation) }), ("recommendations", { try $0.array(recommendations) }), ("user_id", { $0.number(userID) }),
        ])
    }
}

extension RecommendedBook: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        var fields: [(String, (inout JSONText) throws -> Void)] = [("authors", { $0.string(authors) }), ("book_id", { $0.number(bookID) })]
        if let closeTo { fields.append(("close_to", { try closeTo.write(to: &$0) })) }
        fields += [("rank", { $0.number(rank) }), ("score", { try $0.number(score) }), ("title", { $0.string(title) })]
        try json.object(fields)
    }
}

extension RelatedBook: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        try json.object([("book_id", { $0.number(bookID) }), ("similarity", { try $0.number(similarity) }), ("title", { $0.string(title) })])
    }
}

extension SimilarBooks: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        try json.object([("book_id", { $0.number(bookID) }), ("generation", { $0.number(generation) }), ("similar", { try $0.array(similar) })])
    }
}

extension SimilarBook: AnswerJSON {
    public func write(to json: inout JSONText) throws {
        try json.object([
            ("authors", { $0.string(authors) }), ("book_id", { $0.number(bookID) }), ("similarity", { try $0.number(similarity) }),
            ("title", { $0.string(title) }),
        ])
    }
}

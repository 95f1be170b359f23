import Crypto
import Foundation

/// A book of the catalog, with the text fields its encoders read.
public struct Book: Codable, Equatable, Sendable {
    public var id: Int
    public var title: String
    public var authors: String
    public var year: Int?
    public var language: String
    public var isbn13: String
    public var description: String
    /// Shelf names, most used first.
    public var tags: [String]
    public var genres: [String]

    public init(
        id: Int, title: String, authors: String, year: Int? = nil, language: String = "", isbn13: String = "",
        description: String = "", tags: [String] = [], genres: [String] = []
    ) {
        self.id = id
        self.title = title
        self.authors = authors
        self.year = year
        self.language = language
        self.isbn13 = isbn13
        self.description = description
        self.tags = tags
        self.genres = genres
    }

    /// What the text encoder reads: title, authors, genres, tags and the description.
    public var text: String {
        var parts = ["\(title) by \(authors)."]
        if !genres.isEmpty { parts.append("Genres: \(genres.joined(separator: ", ")).") }
        if !tags.isEmpty { parts.append("Tags: \(tags.joined(separator: ", ")).") }
        if !description.isEmpty { parts.append(description) }
        return parts.joined(separator: " ")
    }

    /// Identifies the encoder input; with the cover bytes' hash it keys the encoder cache.
    public var textHash: String { contentHash(Array(text.utf8)) }
}

public struct Rating: Codable, Equatable, Sendable {
    public var user: Int
    public var book: Int
    public var rating: Int

    public init(user: Int, book: Int, rating: Int) {
        self.user = user
        self.book = book
        self.rating = rating
    }
}

/// The SHA-256 of the bytes, hex: the key of the encoder cache and of every content comparison,
/// so that no crafted text or image can take another one's cached vector.
public func contentHash(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var hex = [UInt8]()
    hex.reserveCapacity(64)
    for byte in SHA256.hash(data: bytes) {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: hex, as: UTF8.self)
}

/// Identifies the set of a reader's ratings (in any order), so that a generation can tell whose
/// ratings changed since their vector was made.
public func ratingsFingerprint(_ ratings: [Rating]) -> String {
    let entries = ratings.map { "\($0.book):\($0.rating)" }.sorted().joined(separator: ",")
    return contentHash(Array(entries.utf8))
}

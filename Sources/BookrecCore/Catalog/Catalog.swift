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

/// A 128-bit content hash (two FNV-1a lanes), hex: enough to tell catalog contents apart.
public func contentHash(_ bytes: [UInt8]) -> String {
    var low = FNV1a()
    var high = FNV1a()
    high.add(UInt8(0x5A))
    for byte in bytes {
        low.add(byte)
        high.add(byte)
    }
    return String(format64: low.value) + String(format64: high.value)
}

extension String {
    init(format64 value: UInt64) {
        let digits = String(value, radix: 16)
        self = String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Identifies the set of a reader's ratings (in any order), so that a generation can tell whose
/// ratings changed since their vector was made.
public func ratingsFingerprint(_ ratings: [Rating]) -> String {
    let entries = ratings.map { "\($0.book):\($0.rating)" }.sorted().joined(separator: ",")
    return contentHash(Array(entries.utf8))
}

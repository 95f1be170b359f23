import Foundation

/// How both drivers write and read the values they keep as text: a book's tags and genres and a
/// shard's ids as JSON arrays, and the reasons they give when what they read is damaged.
enum StoredValues {
    static func json(_ names: [String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(names), as: UTF8.self)
    }

    static func json(_ ids: [Int]) throws -> String {
        String(decoding: try JSONEncoder().encode(ids), as: UTF8.self)
    }

    /// A book's tags or genres.
    static func names(_ json: String, column: String, bookID: Int) throws -> [String] {
        do { return try JSONDecoder().decode([String].self, from: Data(json.utf8)) } catch {
            throw StoreError("the \(column) of book \(bookID) in the store are damaged: \(error)")
        }
    }

    /// A shard's planned ids.
    static func shardIDs(_ json: String, generationID: Int, kind: String, index: Int) throws -> [Int] {
        do { return try JSONDecoder().decode([Int].self, from: Data(json.utf8)) } catch {
            throw StoreError("the planned ids of \(kind) shard \(index) of generation \(generationID) are damaged: \(error)")
        }
    }

    /// Why a generation whose shards are all done still cannot be activated, if it cannot.
    static func activationProblem(generationID: Int, booksWithoutVector: [Int], readersWithoutList: [Int]) -> StoreError? {
        let missing = [(booksWithoutVector, "planned book(s) have no vector"), (readersWithoutList, "planned reader(s) have no list")]
            .filter { !$0.0.isEmpty }
            .map { ids, what in "\(ids.count) \(what) (\(ids.prefix(5).map(String.init).joined(separator: ", "))\(ids.count > 5 ? ", …" : ""))" }
        guard !missing.isEmpty else { return nil }
        return StoreError("generation \(generationID) cannot be activated: its shards say done, but \(missing.joined(separator: " and "))")
    }

    static func unfinishedShards(generationID: Int, count: Int) -> StoreError {
        StoreError("generation \(generationID) has \(count) unfinished shard(s) and cannot be activated")
    }
}

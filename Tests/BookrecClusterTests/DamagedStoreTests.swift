import BookrecCore
import BookrecPipeline
import BookrecStore
import Foundation
import GRDB
import XCTest

/// Rows of the store that do not parse are reported with what they belong to, never read as
/// empty: a book whose stored tags are damaged, a shard whose planned ids are.
final class DamagedStoreTests: XCTestCase {
    func testDamagedStoredRowsAreNamedNotReadAsEmpty() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-damaged-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteStore(path: path)
        _ = try store.importCatalog(
            books: [Book(id: 1, title: "One", authors: "A", tags: ["fantasy"]), Book(id: 2, title: "Two", authors: "B")], covers: [:], ratings: [])
        let generationID = try store.createGeneration(kind: "full", parentID: nil, configuration: RunConfiguration().encoded())
        try store.planShards(generationID: generationID, kind: .score, shards: [[10, 11]])

        let database = try DatabaseQueue(path: path)
        try database.write { db in
            try db.execute(sql: "UPDATE book SET tags = '[\"fantasy\", 3' WHERE id = 1")
            try db.execute(sql: "UPDATE shard SET ids = 'not a list' WHERE shardIndex = 0")
        }
        try database.close()

        XCTAssertThrowsError(try store.loadCatalog()) { error in
            XCTAssertTrue("\(error)".hasPrefix("the tags of book 1 in the store are damaged"), "\(error)")
        }
        XCTAssertThrowsError(try store.shards(generationID: generationID)) { error in
            XCTAssertTrue("\(error)".hasPrefix("the planned ids of score shard 0 of generation \(generationID) are damaged"), "\(error)")
        }
    }
}

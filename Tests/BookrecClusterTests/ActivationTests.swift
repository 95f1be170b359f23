import BookrecCore
import BookrecPipeline
import BookrecStore
import Foundation
import XCTest

/// Activation reads the results, not only the shard rows: a generation whose shards all say done
/// but whose planned books or readers have no vector or list is not activated, and the error
/// names them.
final class ActivationTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-activation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testShardsMarkedDoneWithoutTheirResultsAreNotActivated() throws {
        let store = try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path)
        let generationID = try store.createGeneration(kind: "full", parentID: nil, configuration: RunConfiguration().encoded())
        try store.planShards(generationID: generationID, kind: .encode, shards: [[5, 6, 7]])
        try store.planShards(generationID: generationID, kind: .score, shards: [[10, 11, 12]])
        let list = [ScoredRecommendation(bookID: 5, logit: 1)]

        // Every shard says done, but book 7 has no vector and reader 11 no list.
        try store.completeEncodeShard(generationID: generationID, index: 0, encodings: [])
        try store.saveBookVectors(generationID: generationID, [(5, [1], 0), (6, [1], 0)])
        try store.completeScoreShard(generationID: generationID, index: 0, lists: [(10, list), (12, list)])
        XCTAssertThrowsError(try store.activate(generationID)) { error in
            XCTAssertEqual(
                "\(error)",
                "generation \(generationID) cannot be activated: its shards say done, but 1 planned book(s) have no vector (7) and 1 planned reader(s) have no list (11)")
        }
        XCTAssertNil(try store.activeGenerationID())

        // Once they are there it activates; a reader who rated every book needs no list.
        try store.saveBookVectors(generationID: generationID, [(7, [1], 0)])
        _ = try store.importCatalog(books: [5, 6, 7].map { Book(id: $0, title: "Book \($0)", authors: "An Author") }, covers: [:],
                                    ratings: [5, 6, 7].map { Rating(user: 11, book: $0, rating: 4) })
        try store.activate(generationID)
        XCTAssertEqual(try store.activeGenerationID(), generationID)
    }

}

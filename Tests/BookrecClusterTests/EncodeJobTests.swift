import BookrecCore
@testable import BookrecPipeline
import BookrecStore
import Foundation
import XCTest

/// An encode job reads, decodes and encodes its covers a few at a time: the vectors are those of
/// encoding every cover at once, and a damaged cover anywhere in the shard is named by its book.
final class EncodeJobTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-encode-job-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testCoversAreEncodedInBatchesAsTheyWouldBeAllAtOnceAndADamagedOneIsNamed() throws {
        let covers = try (1...24).map { try Data(contentsOf: TestCluster.tiny.appendingPathComponent("covers/\($0).jpg")) }
        XCTAssertGreaterThan(covers.count, EncodeJobHandler.coversInMemory, "the shard needs more than one batch")
        let (store, generationID, encoders) = try makeGeneration(covers: covers)

        try EncodeJobHandler(store: store).run(generationID: generationID, shardIndex: 0, bookIDs: Array(1...24), encoders: encoders)
        let all = try encoders.encode(coverBytes: covers)
        XCTAssertTrue(all.failures.isEmpty)
        let hashes = try store.coverHashes(bookIDs: Array(1...24))
        let stored = try store.encodings(encoder: encoders.coverIdentity.description, hashes: Array(hashes.values))
        for book in 1...24 {
            XCTAssertEqual(stored[hashes[book]!], all.vectors.row(book - 1), "book \(book): batches give the vector of one batch of all")
        }

        // Book 21's cover, in the second batch, is damaged.
        var damaged = covers
        damaged[20] = damaged[20].prefix(200)
        let (otherStore, otherGeneration, otherEncoders) = try makeGeneration(covers: damaged, name: "damaged")
        XCTAssertThrowsError(
            try EncodeJobHandler(store: otherStore).run(generationID: otherGeneration, shardIndex: 0, bookIDs: Array(1...24), encoders: otherEncoders)
        ) { error in
            XCTAssertTrue("\(error)".hasPrefix("cover of book 21 cannot be decoded: JPEG: "), "\(error)")
        }
    }

    private func makeGeneration(covers: [Data], name: String = "store") throws -> (Store, Int, EncoderSet) {
        let store = try SQLiteStore(path: directory.appendingPathComponent("\(name).sqlite").path)
        let configuration = RunConfiguration()
        _ = try store.importCatalog(
            books: (1...covers.count).map { Book(id: $0, title: "Book \($0)", authors: "An Author") },
            covers: Dictionary(uniqueKeysWithValues: covers.enumerated().map { ($0.offset + 1, $0.element) }), ratings: [])
        let generationID = try store.createGeneration(kind: "full", parentID: nil, configuration: configuration.encoded())
        try store.planShards(generationID: generationID, kind: .encode, shards: [Array(1...covers.count)])
        try store.saveBlob(generationID: generationID, name: ModelBlob.textIDF,
                           bytes: [Float](repeating: 1, count: configuration.hashingDimension).blob)
        let encoders = try EncoderSet(configuration: configuration, generationID: generationID, store: store, modelsDirectory: directory)
        return (store, generationID, encoders)
    }
}

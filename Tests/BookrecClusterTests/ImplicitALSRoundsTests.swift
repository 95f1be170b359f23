import BookrecCore
@testable import BookrecPipeline
import BookrecStore
import Foundation
import XCTest

/// iALS's rounds as train shards, run through the worker's side against a real SQLite store
/// (the broker's part, publishing and waiting, is ClusterTests' and DeterminismTests').
final class ImplicitALSRoundsTests: XCTestCase {
    var directory: URL!
    var store: Store!
    let interactions: Interactions = {
        var generator = SeededGenerator(seed: 12)
        var seen = Set<Int>()
        let triples = (0..<2_400).compactMap { _ -> (reader: Int, book: Int, rating: Float)? in
            let reader = Int.random(in: 0..<300, using: &generator), book = Int.random(in: 0..<(reader % 3 == 0 ? 40 : 130), using: &generator)
            return seen.insert(reader * 1000 + book).inserted ? (reader, book, 4) : nil
        }
        return Interactions(readers: 300, books: 130, triples: triples)
    }()
    var configuration: ImplicitALSConfiguration {
        var configuration = ImplicitALSConfiguration()
        configuration.factors = 8
        configuration.epochs = 3
        return configuration
    }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-ials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path)
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(at: directory)
    }

    func problem(shardSize: Int) -> ImplicitALSProblem {
        ImplicitALSProblem(
            configuration: configuration, readerIDs: (0..<300).map { 1_000_000 + 7 * $0 }, bookIDs: (0..<130).map { 3 * $0 + 2 },
            interactions: interactions, shardSize: shardSize)
    }

    /// Runs every round as train shards, each shard through a worker's context, last shard first.
    func trainedOnShards(shardSize: Int) throws -> ImplicitALS {
        let generationID = try store.createGeneration(kind: "full", parentID: nil, configuration: Data())
        var context: ImplicitALSContext?
        let rounds = ImplicitALSRounds(store: store, generationID: generationID, problem: problem(shardSize: shardSize)) { round, shards in
            if context == nil { context = try ImplicitALSContext(store: self.store, generationID: generationID) }
            for shard in shards.reversed() { try context!.run(store: self.store, shardIndex: shard.index, ids: shard.ids, round: round) }
        }
        return try ImplicitALS(interactions: interactions, configuration: configuration, solveRound: rounds.solveRound)
    }

    func testShardedRoundsGiveTheInProcessFactorsBitForBitForAnyShardSize() throws {
        let inProcess = try ImplicitALS(interactions: interactions, configuration: configuration)
        for shardSize in [7, 64, 1000] {
            let sharded = try trainedOnShards(shardSize: shardSize)
            XCTAssertEqual(sharded.readerFactors.values.map(\.bitPattern), inProcess.readerFactors.values.map(\.bitPattern), "shard size \(shardSize)")
            XCTAssertEqual(sharded.bookFactors.values.map(\.bitPattern), inProcess.bookFactors.values.map(\.bitPattern), "shard size \(shardSize)")
        }
        XCTAssertGreaterThan(inProcess.bookFactors.values.map(abs).max() ?? 0, 0.01, "the rounds moved the factors off their start")
    }

    /// A train job is run only if it is the plan's: its round, a shard of that round, the ids of
    /// that shard's rows; anything else fails permanently with a reason that says which.
    func testAJobThatIsNotThePlansIsRefusedWithTheReason() throws {
        let generationID = try store.createGeneration(kind: "full", parentID: nil, configuration: Data())
        let problem = problem(shardSize: 100)
        // Round 0 with a dispatch that runs nothing: the problem, the starts and the plan are stored.
        let starts = ImplicitALS.start(readers: 300, books: 130, configuration: configuration)
        XCTAssertThrowsError(
            try ImplicitALSRounds(store: store, generationID: generationID, problem: problem) { _, _ in }
                .solveRound(0, readerFactors: starts.readers, bookFactors: starts.books))
        let context = try ImplicitALSContext(store: store, generationID: generationID)
        let firstReaders = Array(problem.readerIDs[0..<100])
        func refusal(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "accepted"
            } catch let error as PermanentJobError { return error.description } catch { return "transient: \(error)" }
        }
        XCTAssertEqual(
            refusal { try context.run(store: store, shardIndex: 0, ids: firstReaders, round: 6) },
            "train shard 0 names round 6; generation \(generationID) has rounds 0..<6")
        XCTAssertEqual(
            refusal { try context.run(store: store, shardIndex: 3, ids: firstReaders, round: 0) },
            "train shard 3 is not one of the 3 shards of round 0")
        XCTAssertEqual(
            refusal { try context.run(store: store, shardIndex: 0, ids: Array(problem.readerIDs[1..<101]), round: 0) },
            "train shard 0 names other ids than the readers of rows 0..<100 it was planned with")
        XCTAssertEqual(
            refusal { try context.run(store: store, shardIndex: 1, ids: Array(problem.readerIDs[100..<200]), round: 1) },
            "train shard 1 is not one of the 2 shards of round 1")
        XCTAssertEqual(refusal { try context.run(store: store, shardIndex: 0, ids: firstReaders, round: 0) }, "accepted")
        XCTAssertEqual(try store.shard(generationID: generationID, kind: .train, index: 0)?.state, .done)
        XCTAssertEqual(try store.shard(generationID: generationID, kind: .train, index: 1)?.state, .queued)
        // Round 1 reads the readers after round 0, which two of its three shards have not written.
        XCTAssertTrue(
            refusal { try context.run(store: store, shardIndex: 3, ids: Array(problem.bookIDs[0..<100]), round: 1) }
                .contains("has no ials/0/1; its train shard did not finish"))
    }

    func testAProblemWhoseRatingsDoNotFitIsRefused() throws {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(problem(shardSize: 10))) as! [String: Any]
        json["rated_books"] = [Int32(0), 130, 5].blob.base64EncodedString()
        XCTAssertThrowsError(try JSONDecoder().decode(ImplicitALSProblem.self, from: JSONSerialization.data(withJSONObject: json))) { error in
            XCTAssertTrue("\(error)".contains("the iALS problem's ratings do not fit its readers and books"), "\(error)")
        }
    }
}

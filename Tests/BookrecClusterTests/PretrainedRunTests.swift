import BookrecStore
import Foundation
import XCTest

/// A run with the pretrained encoders chosen by flag: workers encode with MiniLM and
/// EfficientNet, the generation records which encoders made its vectors, and every reader gets a
/// list; a second run after a title and a cover changed encodes only those two.
/// (The encoders' exactness is proven against the reference files in their own tests.)
final class PretrainedRunTests: XCTestCase {
    func testARunWithThePretrainedEncodersRecordsThemAndANewRunEncodesOnlyWhatChanged() throws {
        let tiny = TestCluster.root.appendingPathComponent("Tests/Fixtures/goodbooks-tiny")
        let cluster = try TestCluster(data: tiny)
        defer { cluster.tearDown() }
        let models = TestCluster.root.appendingPathComponent("models").path
        try cluster.startWorker(arguments: ["--models", models])
        let runArguments = [
            "run", "--fused-dimension", "32", "--factors", "64", "--text-encoder", "minilm", "--cover-encoder", "efficientnet", "--models", models,
            "--epochs", "2", "--encode-shard-size", "8", "--top-k", "5",
        ]
        let run = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(run.status, 0, "\(run.error)\nworkers:\n\(cluster.workerLogs())")

        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let generation = try XCTUnwrap(try store.activeGenerationID())
        let encoders = try XCTUnwrap(try store.blob(generationID: generation, name: ModelBlob.encoders))
        XCTAssertEqual(String(decoding: encoders, as: UTF8.self), "all-MiniLM-L6-v2@1, efficientnet-lite0@1")
        let catalog = try store.loadCatalog()
        XCTAssertEqual(
            try store.encodings(encoder: "all-MiniLM-L6-v2@1", hashes: catalog.books.map(\.textHash)).values.map(\.count),
            [Int](repeating: 384, count: catalog.books.count))
        XCTAssertEqual(
            try store.encodings(encoder: "efficientnet-lite0@1", hashes: Array(catalog.coverHashes.values)).count,
            catalog.coverHashes.count)
        let reader = try QueryReader(store: store)
        for user in Set(catalog.ratings.map(\.user)) {
            XCTAssertEqual(try reader.recommendations(user: user, k: 5).count, 5, "reader \(user)")
        }

        // Book 3 gets a new title and book 1 a new cover; nothing else changes.
        let changed = cluster.directory.appendingPathComponent("changed")
        try FileManager.default.copyItem(at: tiny, to: changed)
        let booksCSV = changed.appendingPathComponent("books.csv")
        let title = try XCTUnwrap(catalog.books.first { $0.id == 3 }?.title)
        try String(contentsOf: booksCSV, encoding: .utf8).replacingOccurrences(of: title, with: "A Retitled Edition")
            .write(to: booksCSV, atomically: true, encoding: .utf8)
        let newCover = TestCluster.root.appendingPathComponent("Tests/Fixtures/new-books/covers/323.jpg")
        try FileManager.default.removeItem(at: changed.appendingPathComponent("covers/1.jpg"))
        try FileManager.default.copyItem(at: newCover, to: changed.appendingPathComponent("covers/1.jpg"))
        let reimport = try cluster.run("bookrec-coordinator", ["import", "--data", changed.path])
        XCTAssertTrue(reimport.output.contains("0 books added, 1 changed; 0 covers added, 1 changed"), reimport.output + reimport.error)
        let rerun = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(rerun.status, 0, rerun.error)
        XCTAssertTrue(rerun.output.contains("generation 2 active"), rerun.output)
        let summaries = cluster.workerLogs().split(separator: "\n").filter { $0.contains("g2-encode-") }
        XCTAssertEqual(summaries.count, 3, cluster.workerLogs())
        let encoded = summaries.map { line -> (texts: Int, covers: Int) in
            let numbers = line.split(separator: ":").last!.split(separator: " ").compactMap { Int($0) }
            return (numbers[0], numbers[1])
        }
        XCTAssertEqual(encoded.map(\.texts).reduce(0, +), 1, "only the retitled book's text is encoded again")
        XCTAssertEqual(encoded.map(\.covers).reduce(0, +), 1, "only the new cover is encoded")
    }

    /// A worker that lacks the pretrained weights hands the job it took back to the queue and
    /// stops with the reason; a worker that has them finishes the run; nothing is dead-lettered.
    func testAWorkerWithoutTheWeightsHandsItsJobBackAndStops() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let models = TestCluster.root.appendingPathComponent("models").path
        let bare = cluster.directory.appendingPathComponent("no-models").path
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        let unfit = try cluster.startWorker(arguments: ["--models", bare])
        let run = try cluster.launch("bookrec-coordinator", [
            "run", "--fused-dimension", "32", "--factors", "64", "--text-encoder", "minilm", "--cover-encoder", "efficientnet", "--models", models,
            "--encode-shard-size", "8", "--top-k", "5",
        ])
        try waitFor("the worker without weights to stop", timeout: 120) { !unfit.isRunning }
        XCTAssertEqual(unfit.terminationStatus, 1)
        XCTAssertTrue(cluster.workerLogs().contains("handed back to the queue: cannot read \(bare)/minilm/model.safetensors"), cluster.workerLogs())
        XCTAssertTrue(cluster.workerLogs().contains("worker: stopped: this worker cannot run encode jobs: cannot read"), cluster.workerLogs())
        XCTAssertEqual(cluster.doneShards(.encode), 0)

        try cluster.startWorker(arguments: ["--models", models])
        let finished = try run.finish(timeout: 600)
        XCTAssertEqual(finished.status, 0, "\(finished.error)\nworkers:\n\(cluster.workerLogs())")
        XCTAssertEqual(try SQLiteStore(path: cluster.storeLocation, readOnly: true).deadLetters(), [], "nothing dead-lettered")
        print("a worker without weights handed its job back and exited 1; a worker with them finished the run")
    }
}

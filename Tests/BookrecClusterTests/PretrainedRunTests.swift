import BookrecStore
import Foundation
import XCTest

/// A run with the pretrained encoders chosen by flag: workers encode with MiniLM and
/// EfficientNet, the generation records which encoders made its vectors, and every reader gets a
/// list. (The encoders' exactness is proven against the reference files in their own tests.)
final class PretrainedRunTests: XCTestCase {
    func testARunWithThePretrainedEncodersRecordsThemAndRecommends() throws {
        let cluster = try TestCluster(data: TestCluster.root.appendingPathComponent("Tests/Fixtures/goodbooks-tiny"))
        defer { cluster.tearDown() }
        let models = TestCluster.root.appendingPathComponent("models").path
        try cluster.startWorker(arguments: ["--models", models])
        let run = try cluster.run("bookrec-coordinator", [
            "run", "--text-encoder", "minilm", "--cover-encoder", "efficientnet", "--models", models,
            "--epochs", "2", "--encode-shard-size", "8", "--top-k", "5",
        ])
        XCTAssertEqual(run.status, 0, "\(run.error)\nworkers:\n\(cluster.workerLogs())")

        let store = try Store(path: cluster.storePath, readOnly: true)
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
    }
}

import BookrecCore
import BookrecImaging
import BookrecPipeline
import BookrecStore
import Foundation
import GRDB
import XCTest

/// The system as users run it: a coordinator and two worker processes over a real broker and a
/// real SQLite file, compared with the in-process scorer on the same data.
final class ClusterTests: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        cluster = try TestCluster()
    }

    override func tearDown() {
        cluster?.tearDown()
    }

    let runArguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "40", "--score-shard-size", "250", "--top-k", "20"]

    func testTwoWorkerProcessesProduceExactlyTheInProcessRecommendations() throws {
        try cluster.startWorker()
        try cluster.startWorker(arguments: ["--concurrency", "2"])
        let run = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(run.status, 0, "coordinator failed:\n\(run.error)\nworkers:\n\(cluster.workerLogs())")
        XCTAssertTrue(run.output.contains("generation 1 active"), run.output)
        XCTAssertEqual(cluster.stopWorkers(), [0, 0], "workers exit 0 on SIGTERM")

        // The same pipeline in one process: encoders, training, scoring (with one BLAS thread,
        // as every bookrec executable runs it).
        setBLASThreads(1)
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let catalog = try store.loadCatalog()
        var configuration = RunConfiguration()
        configuration.model.epochs = 3
        configuration.model.fusedDimension = 32
        configuration.model.factors = 64
        let idf = HashingTextEncoder.fitted(on: catalog.books.map(\.text), dimension: configuration.hashingDimension)
        let text = idf.encode(catalog.books.map(\.text))
        var cover = Matrix(rows: catalog.books.count, columns: GridCoverEncoder().dimension)
        for (row, book) in catalog.books.enumerated() {
            if let bytes = try store.coverBytes(bookID: book.id) {
                cover.setRow(row, GridCoverEncoder().vector(for: try ImageDecoder().decode(bytes)))
            }
        }
        let features = BookFeatures(text: text, cover: cover)
        let data = IndexedData(bookIDs: catalog.books.map(\.id), training: catalog.ratings)
        let interactions = data.interactions
        let readerIDs = data.readerIDs
        // The BLAS threads of the coordinator's model step, the workers' one thread for iALS's
        // rounds (train jobs) and for scoring.
        setBLASThreads(ModelBuilder.blasThreads)
        let inProcessRound = ImplicitALS.inProcess(interactions: interactions, configuration: configuration.model.implicitALS)
        let parameters = try Trainer(configuration: configuration.model).train(
            features: features, interactions: interactions,
            solveImplicitALSRound: { round, readers, books in
                setBLASThreads(1)
                defer { setBLASThreads(ModelBuilder.blasThreads) }
                return try inProcessRound(round, readers, books)
            })
        let bookIDs = catalog.books.map(\.id)
        let model = try parameters.scoringModel(features, configuration: configuration.model, interactions: interactions, bookIDs: bookIDs)
        setBLASThreads(1)
        let scorer = Scorer(side: model.side, bookIDs: bookIDs)
        let itemItem = try XCTUnwrap(model.itemItem.map { ItemItemTerm(weights: $0, columns: bookIDs) }, "the default model has an item-item part")
        let ratings = Dictionary(grouping: catalog.ratings, by: \.user)
        let expected = scorer.topK(
            readers: parameters.readerVectors, readerBias: parameters.readerBias, slots: readerIDs,
            excluded: interactions.booksByReader, k: 20, adding: { r, logits in itemItem.add(ratings: ratings[readerIDs[r]] ?? [], to: logits) })

        let reader = try QueryReader(store: store)
        var compared = 0
        for (row, user) in readerIDs.enumerated() {
            let stored = try reader.recommendations(user: user, k: 20)
            XCTAssertEqual(stored.map(\.bookID), expected[row].map { catalog.books[$0.book].id }, "reader \(user)")
            XCTAssertEqual(stored.map { Float($0.score) }, expected[row].map(\.score), "reader \(user)")
            compared += 1
        }
        XCTAssertEqual(compared, 1500)
    }

    func testQueriesAnswerFromTheActiveGeneration() throws {
        try cluster.startWorker(arguments: ["--concurrency", "2"])
        let run = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(run.status, 0, run.error)
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        let user = try store.loadCatalog().ratings[0].user

        let recommend = try cluster.run("bookrec-query", ["recommend", "--user", "\(user)", "-k", "5", "--json"])
        XCTAssertEqual(recommend.status, 0, recommend.error)
        let list = (try JSONSerialization.jsonObject(with: Data(recommend.output.utf8)) as! [String: Any])["recommendations"] as! [[String: Any]]
        XCTAssertEqual(list.map { $0["rank"] as! Int }, [1, 2, 3, 4, 5])
        XCTAssertFalse((list[0]["title"] as! String).isEmpty)
        let rated = Set(try store.ratings(userIDs: [user])[user]!.map(\.book))
        XCTAssertTrue(list.allSatisfy { !rated.contains($0["book_id"] as! Int) }, "rated books are never recommended")

        let unknown = try cluster.run("bookrec-query", ["recommend", "--user", "999999999"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.error.contains("unknown reader 999999999"), unknown.error)
        let unknownBook = try cluster.run("bookrec-query", ["similar", "--book", "123456"])
        XCTAssertEqual(unknownBook.status, 1)
        XCTAssertTrue(unknownBook.error.contains("unknown book 123456"), unknownBook.error)

        let similar = try cluster.run("bookrec-query", ["similar", "--book", "1", "-k", "3"])
        XCTAssertEqual(similar.status, 0, similar.error)
        XCTAssertEqual(similar.output.split(separator: "\n").count, 4)
        // The three books whose stored vectors have the highest cosine with book 1's.
        let similarJSON = try cluster.run("bookrec-query", ["similar", "--book", "1", "-k", "3", "--json"])
        let nearest = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(similarJSON.output.utf8)) as? [String: Any])?["similar"] as? [[String: Any]])
        let vectors = try store.bookVectors(generationID: try XCTUnwrap(store.activeGenerationID()))
        func unit(_ v: [Float]) -> [Float] {
            let length = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / length }
        }
        let first = unit(vectors.vectors[vectors.ids.firstIndex(of: 1)!])
        let cosines = zip(vectors.ids, vectors.vectors).filter { $0.0 != 1 }.map { id, v in (id, zip(first, unit(v)).reduce(0) { $0 + $1.0 * $1.1 }) }
        let expected = cosines.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(3)
        XCTAssertEqual(nearest.map { $0["book_id"] as! Int }, expected.map(\.0))
        for (entry, (_, cosine)) in zip(nearest, expected) { XCTAssertEqual(entry["similarity"] as! Double, Double(cosine), accuracy: 1e-4) }

        let export = try cluster.run("bookrec-query", ["export", "-k", "20"])
        XCTAssertEqual(export.status, 0, export.error)
        let lines = export.output.split(separator: "\n")
        XCTAssertEqual(lines.first, "user_id,rank,book_id,score")
        XCTAssertEqual(lines.count - 1, 1500 * 20, "20 books for every reader")

        // rank agrees with the stored scores, and bulk pairs stream back with bad rows reported.
        let top = list[0]["book_id"] as! Int
        let rank = try cluster.run("bookrec-query", ["rank", "--user", "\(user)", "--books", "\(top)", "--json"])
        let ranked = (try JSONSerialization.jsonObject(with: Data(rank.output.utf8)) as! [String: Any])["ranked"] as! [[String: Any]]
        XCTAssertEqual(ranked[0]["score"] as! Double, list[0]["score"] as! Double, accuracy: 1e-6)
        let pairs = cluster.directory.appendingPathComponent("pairs.csv")
        try "user_id,book_id\n\(user),\(top)\n\(user),999999\nnot,a pair\n\(user),1\n".write(to: pairs, atomically: true, encoding: .utf8)
        let bulk = try cluster.run("bookrec-query", ["rank", "--pairs", pairs.path])
        XCTAssertEqual(bulk.status, 0, bulk.error)
        XCTAssertEqual(bulk.output.split(separator: "\n").count, 3, bulk.output)
        XCTAssertTrue(bulk.error.contains("pairs.csv:3: unknown book 999999"), bulk.error)
        XCTAssertTrue(bulk.error.contains("pairs.csv:4: expected user_id,book_id"), bulk.error)

        let status = try cluster.run("bookrec-query", ["status", "--json"])
        let state = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as! [String: Any]
        XCTAssertEqual(state["active_generation"] as? Int, 1)
        XCTAssertEqual((state["queues"] as? [[String: Any]])?.count, 6, "queue depths when the broker is reachable")

        // A damaged vector (NaN) makes a score JSON cannot hold: the command fails and says so,
        // instead of printing nothing and exiting 0.
        let book = try store.loadCatalog().books[0].id
        let database = try DatabaseQueue(path: cluster.storeLocation)
        try database.write { db in
            let length = try Int.fetchOne(db, sql: "SELECT length(vector) FROM bookVector WHERE bookId = ?", arguments: [book])!
            try db.execute(sql: "UPDATE bookVector SET vector = ? WHERE bookId = ?",
                           arguments: [[Float](repeating: .nan, count: length / 4).blob, book])
        }
        try database.close()
        let nan = try cluster.run("bookrec-query", ["rank", "--user", "\(user)", "--books", "\(book)", "--json"])
        XCTAssertNotEqual(nan.status, 0, nan.output)
        XCTAssertTrue(nan.error.contains("cannot be written as JSON"), nan.error)
    }

    /// k = d/2 leaves no collaborative factors: no iALS, so no train job is planned or waited for.
    func testAModelWithoutCollaborativeFactorsRunsWithoutTrainJobs() throws {
        let tiny = try TestCluster(data: TestCluster.tiny)
        defer { tiny.tearDown() }
        try tiny.startWorker()
        let run = try tiny.run("bookrec-coordinator", ["run", "--fused-dimension", "32", "--factors", "16", "--top-k", "5"])
        XCTAssertEqual(run.status, 0, run.error)
        XCTAssertEqual(try SQLiteStore(path: tiny.storeLocation, readOnly: true).shards(generationID: 1, kind: .train), [])
        XCTAssertEqual(try tiny.export(k: 5).split(separator: "\n").count, 1 + 200 * 5)
    }

    func testASecondCoordinatorOnTheSameStoreRefuses() throws {
        let lock = try SQLiteStore(path: cluster.storeLocation).lockCoordinator(onLoss: { _ in })
        defer { lock.release() }
        let second = try cluster.run("bookrec-coordinator", runArguments)
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.error.contains("another coordinator is running against"), second.error)
    }
}

/// The same data, seed and configuration give byte-identical exports whatever the number of
/// workers and the shard sizes (encode, train and score).
final class DeterminismTests: XCTestCase {
    func export(workers: Int, encodeShardSize: Int, trainShardSize: Int, scoreShardSize: Int) throws -> String {
        let cluster = try TestCluster()
        defer { cluster.tearDown() }
        for _ in 0..<workers { try cluster.startWorker() }
        let run = try cluster.run("bookrec-coordinator", [
            "run", "--fused-dimension", "32", "--factors", "64", "--epochs", "2", "--encode-shard-size", "\(encodeShardSize)",
            "--train-shard-size", "\(trainShardSize)", "--score-shard-size", "\(scoreShardSize)", "--top-k", "20",
        ])
        XCTAssertEqual(run.status, 0, run.error)
        let export = try cluster.run("bookrec-query", ["export", "-k", "20"])
        XCTAssertEqual(export.status, 0, export.error)
        return export.output
    }

    func testExportsAreIdenticalForAnyWorkerCountAndShardSize() throws {
        let one = try export(workers: 1, encodeShardSize: 40, trainShardSize: 1024, scoreShardSize: 250)
        let two = try export(workers: 2, encodeShardSize: 33, trainShardSize: 97, scoreShardSize: 97)
        XCTAssertEqual(one.split(separator: "\n").count, 1 + 1500 * 20)
        XCTAssertTrue(one == two, "exports differ between 1 worker with shards 40/1024/250 and 2 workers with shards 33/97/97")
        let four = try export(workers: 4, encodeShardSize: 40, trainShardSize: 250, scoreShardSize: 97)
        XCTAssertTrue(one == four, "exports differ between 1 worker with shards 40/1024/250 and 4 workers with shards 40/250/97")
    }
}

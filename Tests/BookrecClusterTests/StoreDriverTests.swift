import BookrecCore
import BookrecStore
import Foundation
import XCTest

/// The two store drivers behave the same: one script of calls through the `Store` protocols,
/// run on an SQLite file and on a PostgreSQL database, must give the same answers (dates aside).
/// Then what only the PostgreSQL driver has: its URL and password handling, its lock, its
/// schema versions and its retries.
final class StoreDriverTests: XCTestCase {
    /// Every answer of a script of calls that covers the protocols, as lines of text.
    private func script(_ store: any Store) throws -> [String] {
        var answers: [String] = []
        func note(_ label: String, _ value: Any) { answers.append("\(label): \(value)") }
        func refusal(_ label: String, _ body: () throws -> Void) {
            do {
                try body()
                answers.append("\(label): accepted")
            } catch {
                answers.append("\(label): refused: \(error)".replacingOccurrences(of: store.location, with: "<store>"))
            }
        }

        // Catalog: adding, then the same again, then changes (a book with quotes, braces and
        // backslashes in its text, a NULL year, a changed rating).
        let books = (1...30).map {
            Book(id: $0, title: "Book \"\($0)\" {x}, \\y", authors: "A\($0)", year: $0 % 3 == 0 ? nil : 1900 + $0, language: "en",
                 isbn13: "97800000000\($0)", description: "D\($0)", tags: ["to-read", "t\($0)"], genres: ["g"])
        }
        let covers = Dictionary(uniqueKeysWithValues: (1...10).map { ($0, Data([UInt8(0), UInt8($0), 0x5C, 0x22])) })
        var ratings: [Rating] = []
        for user in 1...40 {
            for book in 1...30 where (book + user) % 4 == 0 { ratings.append(Rating(user: user, book: book, rating: 1 + (book * user) % 5)) }
        }
        note("import", try store.importCatalog(books: books, covers: covers, ratings: ratings))
        note("import again", try store.importCatalog(books: books, covers: covers, ratings: ratings))
        var changedBook = books[4]
        changedBook.title = "Retitled"
        let changedRating = Rating(user: ratings[0].user, book: ratings[0].book, rating: ratings[0].rating % 5 + 1)
        note("import changes", try store.importCatalog(
            books: [changedBook, Book(id: 31, title: "New", authors: "N")], covers: [3: Data([9])], ratings: [changedRating, Rating(user: 41, book: 31, rating: 5)]))
        let catalog = try store.loadCatalog()
        note("catalog", (catalog.books, catalog.ratings, catalog.coverHashes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }))
        note("catalog without ratings", try store.loadCatalog(includingRatings: false).ratings.count)
        note("book ids", try store.bookIDs().sorted())
        note("rated book ids", try store.ratedBookIDs().sorted())
        note("cover bytes", [try store.coverBytes(bookID: 3), try store.coverBytes(bookID: 4), try store.coverBytes(bookID: 20)])
        note("cover hashes", try store.coverHashes(bookIDs: [1, 2, 20, 99]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        note("books", try store.books(ids: [31, 5, 99, 1]))
        note("titles", try store.bookTitles(ids: [5, 2, 99]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.title)/\($0.value.authors)" })
        note("ratings", try store.ratings(userIDs: [3, 1, 500]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })

        // A generation: shards planned twice (the second plan keeps the first's states), run,
        // failed by a dead letter, requeued; activation refused until the results are there.
        let generation = try store.createGeneration(kind: "full", parentID: nil, configuration: Data("{\"seed\":1}".utf8))
        try store.planShards(generationID: generation, kind: .encode, shards: [[1, 2, 3], [4, 5]])
        try store.markShardRunning(generationID: generation, kind: .encode, index: 0, worker: "w1")
        try store.planShards(generationID: generation, kind: .encode, shards: [[1, 2, 3], [4, 5]])
        try store.planShards(generationID: generation, kind: .score, shards: [Array(1...20), Array(21...41)])
        try store.recordDeadLetter(generationID: generation, kind: "score", shardIndex: 1, reason: "poison \"quoted\"", body: Data(repeating: 7, count: 33))
        try store.recordDeadLetter(generationID: nil, kind: nil, shardIndex: nil, reason: "unreadable", body: Data(), failsShard: false)
        note("dead letters", try store.deadLetters(limit: 5).map { "\($0.id) \($0.generationID as Any) \($0.kind as Any) \($0.shardIndex as Any) \($0.reason) \($0.keptBodyBytes)" })
        note("shards", try store.shards(generationID: generation))
        note("score shard 1", try store.shard(generationID: generation, kind: .score, index: 1) as Any)
        note("shard states", try store.shardStates(generationID: generation, kind: .encode).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" })
        note("shard states 1..<2", try store.shardStates(generationID: generation, kind: .score, indices: 1..<2).map { "\($0.key) \($0.value)" })
        try store.requeueShards(generationID: generation, kind: .score, indices: [1])
        note("shard counts", try store.shardCounts(generationID: generation).sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \($0.value.sorted { $0.key.rawValue < $1.key.rawValue })" })
        refusal("activate with shards queued") { try store.activate(generation) }

        // Encodings: two books with the same text share a hash within one shard.
        try store.completeEncodeShard(generationID: generation, index: 0, encodings: [("text@1", "h1", [1, 2]), ("text@1", "h1", [1, 2]), ("cover@1", "h1", [3])])
        try store.completeEncodeShard(generationID: generation, index: 1, encodings: [("text@1", "h2", [-0.5, .leastNonzeroMagnitude])])
        note("encodings", try store.encodings(encoder: "text@1", hashes: ["h1", "h2", "h3", "h1"]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })

        // Vectors, one book twice (the last one counts), and blobs.
        try store.saveBookVectors(generationID: generation, (1...31).map { ($0, [Float($0), 0.25, -1], Float($0) / 7) } + [(2, [9, 9, 9], 0.5)])
        note("book vectors", try store.bookVectors(generationID: generation))
        note("book vector 2", try store.bookVector(generationID: generation, bookID: 2) as Any)
        note("book vector 99", try store.bookVector(generationID: generation, bookID: 99) as Any)
        note("books with vectors", try store.bookIDsWithVectors(generationID: generation).count)
        try store.saveReaderVectors(generationID: generation, (1...41).map { ($0, [Float($0) / 3, 1], Float($0) / 11, "r\($0)") })
        note("reader vectors", try store.readerVectors(generationID: generation, userIDs: [2, 41, 500]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        note("reader hashes", try store.readerRatingsHashes(generationID: generation).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        note("reader ids", try store.readerIDs(generationID: generation))
        try store.saveBlob(generationID: generation, name: "ials/u-1", bytes: Data([1]))
        try store.saveBlob(generationID: generation, name: "ials/u-1", bytes: Data([2]))
        try store.saveBlob(generationID: generation, name: "parameters", bytes: Data([3, 4]))
        try store.completeTrainShard(generationID: generation, index: 0, blobName: "ials_other", bytes: Data([5]))
        try store.deleteBlobs(generationID: generation, prefix: "ials/")
        note("blobs", ["ials/u-1", "parameters", "ials_other", "nothing"].map { (try? store.blob(generationID: generation, name: $0)) as Any })

        // Lists: a reader given twice keeps the last list; a redelivered shard rewrites its rows.
        let lists: [(userID: Int, books: [ScoredRecommendation])] = (1...20).map { user in
            (user, (0..<3).map { ScoredRecommendation(bookID: 31 - $0 - user % 5, logit: Float(3 - $0) / Float(user)) })
        }
        try store.completeScoreShard(generationID: generation, index: 0, lists: lists + [(5, [ScoredRecommendation(bookID: 1, logit: 0.5)])])
        try store.completeScoreShard(generationID: generation, index: 0, lists: lists + [(5, [ScoredRecommendation(bookID: 1, logit: 0.5)])])
        refusal("activate with a shard left") { try store.activate(generation) }
        try store.completeScoreShard(generationID: generation, index: 1, lists: [(21, [ScoredRecommendation(bookID: 2, logit: -1)])])
        refusal("activate with readers without a list") { try store.activate(generation) }
        try store.completeScoreShard(generationID: generation, index: 1, lists: (21...41).map { ($0, [ScoredRecommendation(bookID: 2, logit: -1)]) })
        refusal("activate") { try store.activate(generation) }
        note("active", try store.activeGenerationID() as Any)
        note("generation", try store.generation(generation).map { "\($0.id) \($0.parentID as Any) \($0.kind) \($0.state) \(String(decoding: $0.configuration, as: UTF8.self)) \($0.completedAt != nil)" } as Any)
        note("recommendations 5", try store.recommendations(generationID: generation, userID: 5, limit: 10))
        note("recommendations 7 top 2", try store.recommendations(generationID: generation, userID: 7, limit: 2))
        note("scored", try store.scoredRecommendations(generationID: generation, userIDs: [7, 21, 500]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        var streamed: [String] = []
        try store.forEachRecommendation(generationID: generation, limit: 2) { streamed.append("\($0) \($1)") }
        note("streamed", streamed)

        // Derived generations, rollback, gc.
        let derived = try store.createDerivedGeneration(
            kind: "add-ratings", parentID: generation, configuration: Data("{}".utf8), blobs: [ModelBlob.rescoredReaders: Data("[7]".utf8)], copyListsExcept: [7, 8])
        note("derived lists", try store.scoredRecommendations(generationID: derived, userIDs: [6, 7, 8]).keys.sorted())
        note("derived vectors", try store.bookVectors(generationID: derived).ids.count)
        note("derived blobs", [ModelBlob.rescoredReaders, "parameters", "ials_other"].map { (try? store.blob(generationID: derived, name: $0)) as Any })
        note("unfinished", try store.unfinishedGeneration(kind: "add-ratings")?.id as Any)
        try store.planShards(generationID: derived, kind: .score, shards: [])
        refusal("activate derived") { try store.activate(derived) }
        refusal("rollback to a missing generation") { _ = try store.rollback(to: 99) }
        refusal("rollback") { note("rolled back", try store.rollback()) }
        refusal("rollback to the derived one") { note("rolled to", try store.rollback(to: derived)) }
        let failed = try store.createGeneration(kind: "full", parentID: nil, configuration: Data())
        try store.markGeneration(failed, state: .failed)
        refusal("rollback to a failed generation") { _ = try store.rollback(to: failed) }
        note("generations", try store.generations().map { "\($0.id) \($0.kind) \($0.state)" })
        note("gc", try store.collectGarbage(keep: 0))
        note("generations after gc", try store.generations().map { "\($0.id) \($0.parentID as Any) \($0.state)" })

        // Reindex requests: the same content twice is one request.
        let first = try store.acceptReindexRequest(kind: .books, contentHash: "c1", file: "a.csv", accepted: 3, content: Data("rows".utf8))
        let again = try store.acceptReindexRequest(kind: .books, contentHash: "c1", file: "b.csv", accepted: 3, content: Data("rows".utf8))
        let ratingsRequest = try store.acceptReindexRequest(kind: .ratings, contentHash: "c1", file: "r.csv", accepted: 1, content: Data([0, 1]))
        note("requests", [first.isNew, again.isNew, ratingsRequest.isNew, first.0.id == again.0.id])
        try store.markReindexRequests([first.0.id], state: .done, generationID: derived, reason: nil)
        try store.markReindexRequests([ratingsRequest.0.id], state: .running, generationID: nil)
        let describe = { (request: ReindexRequest) in "\(request.id) \(request.kind) \(request.file) \(request.accepted) \(request.state) \(request.generationID as Any) \(request.reason as Any)" }
        note("pending", try store.pendingReindexRequests().map(describe))
        note("latest", try store.reindexRequests(limit: 1).map(describe))
        note("request", try store.reindexRequest(first.0.id).map(describe) as Any)
        note("content", [try store.reindexContent(ratingsRequest.0.id), try store.reindexContent(99)])
        return answers
    }

    func testBothDriversAnswerEveryCallAlike() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-drivers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try script(try openStore(directory.appendingPathComponent("store.sqlite").path))
        let database = try PostgresServer.shared().createDatabase()
        defer { database.drop() }
        let postgres = try script(try database.open())
        XCTAssertGreaterThan(sqlite.count, 50)
        for (mine, theirs) in zip(postgres, sqlite) where mine != theirs {
            XCTFail("PostgreSQL answered\n  \(mine)\nwhere SQLite answered\n  \(theirs)")
        }
        XCTAssertEqual(postgres.count, sqlite.count)
    }

    func testListsOfManyReadersStreamInOrderAcrossFetches() throws {
        let database = try PostgresServer.shared().createDatabase()
        defer { database.drop() }
        let store = try database.open()
        let generation = try store.createGeneration(kind: "full", parentID: nil, configuration: Data())
        let readers = 2_000, perReader = 25  // 50,000 rows: more than two fetches of the cursor
        try store.completeScoreShard(generationID: generation, index: 0, lists: (1...readers).map { user in
            (user, (0..<perReader).map { ScoredRecommendation(bookID: (user * 7 + $0) % 1000, logit: Float(perReader - $0)) })
        })
        var seen = 0
        var previous = (user: 0, rank: 0)
        try store.forEachRecommendation(generationID: generation, limit: .max) { user, entry in
            XCTAssertTrue((user, entry.rank) > previous, "(\(user), \(entry.rank)) after \(previous)")
            previous = (user, entry.rank)
            seen += 1
        }
        XCTAssertEqual(seen, readers * perReader)
    }

    func testThePasswordComesFromTheEnvironmentOrAFileAndIsNeverShown() throws {
        let cluster = try TestCluster(data: TestCluster.tiny, postgres: try PostgresServer.shared())
        defer { cluster.tearDown() }
        let database = cluster.database!
        let password = try String(contentsOfFile: database.server.passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let withPassword = database.url.replacingOccurrences(of: "bookrec@", with: "bookrec:\(password)@")

        // On the command line it is refused before anything connects, as the URL's or as a parameter.
        for location in [withPassword, database.url + "?password=\(password)"] {
            let argv = try cluster.run("bookrec-query", ["status", "--store", location])
            XCTAssertNotEqual(argv.status, 0)
            XCTAssertTrue(argv.error.contains("--store must not carry a password"), argv.error)
            XCTAssertFalse(argv.error.contains(password))
        }
        // From the environment (BOOKREC_STORE, PGPASSWORD, or the file) it works, and no output shows it.
        for environment in [
            ["BOOKREC_STORE": withPassword, "BOOKREC_STORE_PASSWORD_FILE": ""],
            ["BOOKREC_STORE": database.url + "?password=\(password)", "BOOKREC_STORE_PASSWORD_FILE": ""],
            ["BOOKREC_STORE": database.url, "BOOKREC_STORE_PASSWORD_FILE": "", "PGPASSWORD": password],
            ["BOOKREC_STORE": database.url],
        ] {
            let status = try cluster.run("bookrec-query", ["status"], environment: environment)
            XCTAssertEqual(status.status, 0, "\(environment.keys.sorted()): \(status.error)")
            XCTAssertTrue(status.output.contains("store \(database.url);"), status.output)
            XCTAssertFalse((status.output + status.error).contains(password))
        }
        // A wrong one is a clear error that does not echo it.
        let wrongFile = cluster.directory.appendingPathComponent("wrong-password")
        try "not-the-password\n".write(to: wrongFile, atomically: true, encoding: .utf8)
        let wrong = try cluster.run("bookrec-query", ["status"], environment: ["BOOKREC_STORE": database.url, "BOOKREC_STORE_PASSWORD_FILE": wrongFile.path])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.error.contains("password authentication failed for user \"bookrec\""), wrong.error)
        XCTAssertFalse(wrong.error.contains("not-the-password"))
        let missing = try cluster.run("bookrec-query", ["status"], environment: ["BOOKREC_STORE_PASSWORD_FILE": "/nonexistent/password"])
        XCTAssertTrue(missing.error.contains("cannot read the store password from BOOKREC_STORE_PASSWORD_FILE (/nonexistent/password)"), missing.error)
        // The worker's start line and the importer name the store without the password.
        let worker = try cluster.launch("bookrec-worker", [], environment: ["BOOKREC_STORE": withPassword, "BOOKREC_STORE_PASSWORD_FILE": ""])
        try waitFor("the worker's start line", timeout: 60) { worker.errorSoFar.contains("store postgres://") }
        worker.process.terminate()
        let log = try worker.finish()
        XCTAssertTrue(log.error.contains("store \(database.url)"), log.error)
        XCTAssertFalse(log.error.contains(password))
    }

    func testAnEmptyDatabaseIsNoStoreForReadersAndANewerSchemaIsRefused() throws {
        let database = try PostgresServer.shared().createDatabase()
        defer { database.drop() }
        XCTAssertThrowsError(try database.open(readOnly: true)) { error in
            XCTAssertTrue(error is StoreNotFound, "\(error)")
            XCTAssertEqual("\(error)", "no store at \(database.url); run `bookrec-coordinator import` first")
        }
        _ = try database.open()
        _ = try database.open()  // opening again applies nothing twice
        _ = try database.open(readOnly: true)
        try database.server.psql("INSERT INTO schemaMigration VALUES ('v9: from the future', now())", database: database.name)
        XCTAssertThrowsError(try database.open()) { error in
            XCTAssertTrue("\(error)".contains("the store was made by a newer bookrec (it has the migration \"v9: from the future\")"), "\(error)")
        }
    }

    func testAStoreOfThePreviousSchemaIsMigratedForwardWithItsRows() throws {
        let database = try PostgresServer.shared().createDatabase()
        defer { database.drop() }
        let store = try database.open()
        _ = try store.importCatalog(books: [Book(id: 1, title: "Kept", authors: "A")], covers: [:], ratings: [Rating(user: 7, book: 1, rating: 5)])
        let generation = try store.createGeneration(kind: "full", parentID: nil, configuration: Data("{}".utf8))
        // The store as the schema before the last migration left it.
        try database.server.psql(
            "ALTER TABLE generation DROP COLUMN retryToken; ALTER TABLE deadLetter DROP COLUMN retryToken; DELETE FROM schemaMigration WHERE identifier = 'v2: retry tokens'",
            database: database.name)
        let migrated = try database.open()
        XCTAssertEqual(
            try database.server.psql("SELECT string_agg(identifier, ' | ' ORDER BY identifier) FROM schemaMigration", database: database.name),
            "v1: catalog, generations, results, reindex requests | v2: retry tokens")
        XCTAssertEqual(try migrated.books(ids: [1]).map(\.title), ["Kept"], "nothing stored is lost")
        XCTAssertEqual(try migrated.ratings(userIDs: [7])[7], [Rating(user: 7, book: 1, rating: 5)])
        XCTAssertEqual(try migrated.generation(generation)?.kind, "full")
        XCTAssertEqual(try migrated.createGeneration(kind: "full", parentID: nil, configuration: Data("{}".utf8)), generation + 1)
        try migrated.recordDeadLetter(generationID: nil, kind: nil, shardIndex: nil, reason: "after the migration", body: Data())
        XCTAssertEqual(try migrated.deadLetters(limit: 1).map(\.reason), ["after the migration"])
    }

    func testTheCoordinatorLockIsOnePerDatabaseAndFreedOnRelease() throws {
        let first = try PostgresServer.shared().createDatabase(), second = try PostgresServer.shared().createDatabase()
        defer {
            first.drop()
            second.drop()
        }
        let lock = try first.open().lockCoordinator(onLoss: { XCTFail("lost: \($0)") })
        XCTAssertThrowsError(try first.open().lockCoordinator(onLoss: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("another coordinator is running against \(first.url) (bookrec-coordinator pid \(getpid()) on "), "\(error)")
        }
        let other = try second.open().lockCoordinator(onLoss: { _ in })  // another database is another store
        other.release()
        lock.release()
        try first.open().lockCoordinator(onLoss: { _ in }).release()
    }

    func testTheCoordinatorLockIsTakenBackAfterADatabaseRestart() throws {
        let server = PrivatePostgres(port: 5803)
        try server.start()
        defer { try? server.stop() }
        let database = try server.server.createDatabase()
        let losses = Recorded<[String]>([])
        let lock = try database.open().lockCoordinator(onLoss: { reason in losses.withValue { $0.append(reason) } })
        defer { lock.release() }
        let held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        XCTAssertEqual(try server.server.psql(held, database: database.name), "1")
        try server.restart()
        try waitFor("the lock taken back", timeout: 60) { (try? server.server.psql(held, database: database.name)) == "1" }
        XCTAssertThrowsError(try database.open().lockCoordinator(onLoss: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("another coordinator is running against"), "\(error)")
        }
        XCTAssertEqual(losses.withValue { $0 }, [])
        // Taken by someone else (a session that ends the holder's and takes the lock at once), it is
        // lost, and said so.
        let thief = Process()
        thief.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        thief.arguments = ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "bookrec", "-d", database.name, "-At"]
        thief.environment = ["PGPASSWORD": try String(contentsOfFile: server.server.passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)]
        let input = Pipe()
        thief.standardInput = input
        thief.standardOutput = FileHandle.nullDevice
        try thief.run()
        defer {
            try? input.fileHandleForWriting.close()
            thief.waitUntilExit()
        }
        let key = 0x626F_6F6B_7265_63  // PostgresCoordinatorLock.key
        input.fileHandleForWriting.write(Data("""
            SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted;
            SELECT pg_advisory_lock(\(key));

            """.utf8))
        try waitFor("the loss reported", timeout: 60) { !losses.withValue { $0 }.isEmpty }
        XCTAssertTrue(
            losses.withValue { $0 }[0].hasPrefix("lost the coordinator lock of \(database.url): another coordinator is running against \(database.url) (psql"),
            "\(losses.withValue { $0 })")
    }

    func testTLSWithTheServersCertificateCheckedAndAnUntrustedServerRefusedAtOnce() throws {
        let certificates = try makeTestCertificates(prefix: "bookrec-pg-tls")
        defer { try? FileManager.default.removeItem(at: certificates) }
        let server = PrivatePostgres(port: 5804, tlsDirectory: certificates)
        try server.start()
        defer { try? server.stop() }
        let database = try server.server.createDatabase()
        let verified = "postgres://bookrec@localhost:\(server.port)/\(database.name)?sslmode=verify-full&sslrootcert=\(certificates.appendingPathComponent("ca.pem").path)"
        let store = try openStore(verified, environment: database.environment)
        _ = try store.importCatalog(books: [Book(id: 1, title: "Over TLS", authors: "A")], covers: [:], ratings: [])
        XCTAssertEqual(try store.books(ids: [1]).map(\.title), ["Over TLS"])
        XCTAssertEqual(try server.server.psql("SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = '\(database.name)' AND application_name = 'bookrec'"), "t")

        let untrusted = verified.replacingOccurrences(of: "ca.pem", with: "stranger.pem")
        XCTAssertThrowsError(try openStore(untrusted, environment: database.environment)) { error in
            XCTAssertTrue("\(error)".contains("certificate verify failed"), "\(error)")
            XCTAssertFalse("\(error)".contains("still failing after"), "a certificate that does not verify is not retried: \(error)")
        }
    }

    func testAWriteWaitsOutADatabaseThatIsDownAndComesBack() throws {
        let server = PrivatePostgres(port: 5802)
        try server.start()
        defer { try? server.stop() }
        let database = try server.server.createDatabase()
        let store = try database.open()
        let generation = try store.createGeneration(kind: "full", parentID: nil, configuration: Data())
        try store.saveBlob(generationID: generation, name: "before", bytes: Data([1]))
        // The store's pooled connection dies with the server; the write below starts while the
        // server is down and lands once another thread has started it again.
        try server.stop()
        let started = expectation(description: "server started")
        Thread {
            try? server.start()
            started.fulfill()
        }.start()
        try store.saveBlob(generationID: generation, name: "during", bytes: Data([2]))
        wait(for: [started], timeout: 60)
        XCTAssertEqual(try store.blob(generationID: generation, name: "before"), Data([1]))
        XCTAssertEqual(try store.blob(generationID: generation, name: "during"), Data([2]))
        // Down for longer than the store waits, a write fails, naming what it was doing.
        let impatient = try openStore(database.url, busyTimeout: 0, environment: database.environment)
        try server.stop()
        XCTAssertThrowsError(try impatient.saveBlob(generationID: generation, name: "lost", bytes: Data([3]))) { error in
            XCTAssertTrue("\(error)".hasPrefix("saving lost of generation \(generation) failed: "), "\(error)")
        }
    }
}

/// A value shared with a callback on another thread.
final class Recorded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withValue<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.withLock { body(&value) }
    }
}

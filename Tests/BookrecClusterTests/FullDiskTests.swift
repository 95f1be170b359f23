import BookrecStore
import Foundation
import GRDB
import XCTest

/// A store that cannot grow (a file size limit on the writing process, which fails writes with
/// EFBIG as a full disk fails them with ENOSPC): the import and the run fail with a message that
/// says so, the active generation and the catalog stay intact, and the store stays sound.
final class FullDiskTests: XCTestCase {
    func testWritesPastTheLimitFailCleanlyAndTheActiveGenerationStaysIntact() throws {
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        try cluster.startWorker()
        let clean = try cluster.run("bookrec-coordinator", KilledWorkerTests.runArguments)
        XCTAssertEqual(clean.status, 0, clean.error)
        let before = try cluster.export(k: 10)
        // The write-ahead log folded into the store and emptied, with no other process on it, so
        // that the limit below leaves the coordinator room for its first small writes and the run
        // fails in its middle. (With a full log, the first write fails, as the import does.)
        XCTAssertEqual(cluster.stopWorkers(), [0])
        try DatabaseQueue(path: cluster.storeLocation).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let catalogBefore = try SQLiteStore(path: cluster.storeLocation, readOnly: true).loadCatalog()
        // No file may grow past 256 KiB: the store (about 2 MB) cannot grow at all, and its
        // write-ahead log, which starts empty, takes the run's first writes but not its model.
        let limit = 256 << 10

        let slice = TestCluster.root.appendingPathComponent("Tests/Fixtures/goodbooks-slice").path
        let importing = try cluster.run("bookrec-coordinator", ["import", "--data", slice], fileSizeLimit: limit)
        XCTAssertNotEqual(importing.status, 0)
        XCTAssertTrue(importing.error.contains(
            "importing the catalog failed: \(cluster.storeLocation) would exceed this process's file size limit of \(limit) bytes (disk I/O error); nothing of this write was kept"),
            importing.error)
        let catalogAfter = try SQLiteStore(path: cluster.storeLocation, readOnly: true).loadCatalog()
        XCTAssertEqual(catalogAfter.books, catalogBefore.books, "the import was one transaction, rolled back")
        XCTAssertEqual(catalogAfter.ratings, catalogBefore.ratings)

        // A new generation (other epochs) whose coordinator cannot write its model.
        let arguments = ["run", "--fused-dimension", "32", "--factors", "64", "--epochs", "3", "--encode-shard-size", "4", "--score-shard-size", "25", "--top-k", "10"]
        let limited = try cluster.launch("bookrec-coordinator", arguments, fileSizeLimit: limit)
        try cluster.startWorker()
        let run = try limited.finish(timeout: 120)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.error.contains("would exceed this process's file size limit of \(limit) bytes"), run.error)
        XCTAssertTrue(run.error.contains("nothing of this write was kept"), run.error)
        XCTAssertTrue(run.error.contains("generation 2 created"), "the run failed in its middle, not at its first write: \(run.error)")
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        XCTAssertEqual(try store.activeGenerationID(), 1)
        XCTAssertTrue(try cluster.export(k: 10) == before, "the active generation's export is unchanged")
        let check = try DatabaseQueue(path: cluster.storeLocation).read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
        XCTAssertEqual(check, "ok")

        // With room again, the same command resumes the interrupted generation and activates it.
        let again = try cluster.run("bookrec-coordinator", arguments)
        XCTAssertEqual(again.status, 0, again.error)
        XCTAssertTrue(again.error.contains("resuming generation 2"), again.error)
        XCTAssertEqual(try store.activeGenerationID(), 2)
        let failedWrite = run.error.split(separator: "\n").first { $0.contains("file size limit") }.map(String.init) ?? ""
        print("file size limit \(limit) bytes: import refused and rolled back; run stopped at \"\(failedWrite)\"; generation 1 stayed active, integrity ok, the re-run resumed generation 2")
    }

    /// A real full filesystem: a 3 MB tmpfs, where the test may mount one (root with
    /// CAP_SYS_ADMIN); skipped elsewhere, the file size limit above standing in for it.
    func testAFullFilesystemFailsTheImportWithDiskFullAndKeepsTheCatalog() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        guard (try? system("/bin/mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint.path)) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        }
        defer { _ = try? system("/bin/umount", mountPoint.path) }
        let cluster = try TestCluster(data: TestCluster.tiny)
        defer { cluster.tearDown() }
        let store = mountPoint.appendingPathComponent("store.sqlite").path
        let tiny = try cluster.run("bookrec-coordinator", ["import", "--data", TestCluster.tiny.path, "--store", store])
        XCTAssertEqual(tiny.status, 0, tiny.error)
        let before = try SQLiteStore(path: store, readOnly: true).loadCatalog()

        let slice = TestCluster.root.appendingPathComponent("Tests/Fixtures/goodbooks-slice").path
        let full = try cluster.run("bookrec-coordinator", ["import", "--data", slice, "--store", store])
        XCTAssertNotEqual(full.status, 0)
        XCTAssertTrue(full.error.contains("importing the catalog failed: the disk under \(store) is full (database or disk is full); nothing of this write was kept"),
                      full.error)
        let after = try SQLiteStore(path: store, readOnly: true).loadCatalog()
        XCTAssertEqual(after.books, before.books)
        XCTAssertEqual(after.ratings, before.ratings)
        XCTAssertEqual(after.coverHashes, before.coverHashes)
        print("full 3 MB filesystem: import refused with \"disk ... is full\", catalog unchanged")
    }

    private func system(_ arguments: String...) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

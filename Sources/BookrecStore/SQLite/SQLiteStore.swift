import BookrecCore
import Foundation
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite  // the SQLite C API under GRDB (Linux)
#else
import SQLite3
#endif

/// bookrec's SQLite store: one file in WAL mode, shared by the coordinator, any number of worker
/// processes and query readers on a host. Every write is one transaction.
public final class SQLiteStore: Store, @unchecked Sendable {
    public let path: String
    public var location: String { path }
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    /// A write waits up to `busyTimeout` seconds for another process's write to finish before it
    /// fails with "database is locked".
    public init(path: String, readOnly: Bool = false, busyTimeout: TimeInterval = 30) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = readOnly
        // Several worker processes write; waiting out a writer beats failing with SQLITE_BUSY.
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            if readOnly && !FileManager.default.fileExists(atPath: path) {
                throw StoreNotFound(path)
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Schema.migrator.migrate(pool) }
        } catch let error as StoreNotFound {
            throw error
        } catch {
            throw StoreError("cannot open the store at \(path): \(error)")
        }
    }

    /// Runs a write transaction, turning SQLite failures into messages that say what failed.
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        // The operating system's reason for a failed write (ENOSPC, EFBIG, EIO), read on the
        // connection before it is handed back: SQLite's own message is only "disk I/O error".
        var systemError: Int32 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        defer { StoreMetrics.writeDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        do {
            return try pool.writeWithoutTransaction { db in
                do {
                    var result: T?
                    try db.inTransaction {
                        result = try body(db)
                        return .commit
                    }
                    return result!
                } catch let error as DatabaseError where error.resultCode == .SQLITE_IOERR || error.resultCode == .SQLITE_FULL {
                    systemError = sqlite3_system_errno(db.sqliteConnection)
                    throw error
                }
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR {
            throw StoreError("\(what) failed: \(writeFailure(error, systemError: systemError)); nothing of this write was kept")
        } catch let error as DatabaseError {
            throw StoreError("\(what) failed: \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// Why a write could not reach the disk. SQLite does not always keep the failed write's errno
    /// (it reads errno after other calls), so without one, the free space and a process file
    /// size limit are checked instead.
    private func writeFailure(_ error: DatabaseError, systemError: Int32) -> String {
        let sqlite = error.message ?? "\(error.resultCode)"
        var limit = rlimit()
        let hasSizeLimit = getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max  // RLIM_INFINITY
        var space = statvfs()
        let directory = (path as NSString).deletingLastPathComponent
        let diskFull = statvfs(directory.isEmpty ? "." : directory, &space) == 0 && UInt64(space.f_bavail) * UInt64(space.f_frsize) < 1 << 20
        if error.resultCode == .SQLITE_FULL || systemError == ENOSPC || (systemError == 0 && diskFull) {
            return "the disk under \(path) is full (\(sqlite))"
        }
        if systemError == EFBIG || (systemError == 0 && hasSizeLimit) {
            return "\(path) would exceed this process's file size limit of \(limit.rlim_cur) bytes (\(sqlite))"
        }
        return "cannot write to \(path)\(systemError == 0 ? "" : ": \(String(cString: strerror(systemError)))") (\(sqlite))"
    }

    /// An flock is never lost while its holder lives: `onLoss` is never called.
    public func lockCoordinator(onLoss: @escaping @Sendable (String) -> Void) throws -> any CoordinatorLock {
        try FileCoordinatorLock(storePath: path)
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }
}

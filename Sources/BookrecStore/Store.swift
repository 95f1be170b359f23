import BookrecCore
import Foundation
import GRDB

/// An error the store reports with what it was doing, e.g. a full disk during a write.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// bookrec's SQLite store: one file in WAL mode, shared by the coordinator, any number of worker
/// processes and query readers on a host. Every write is one transaction.
public final class Store: @unchecked Sendable {
    public let path: String
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
                throw StoreError("no store at \(path); run `bookrec-coordinator import` first")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Schema.migrator.migrate(pool) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("cannot open the store at \(path): \(error)")
        }
    }

    /// Runs a write transaction, turning SQLite failures into messages that say what failed.
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreError("\(what) failed: the disk under \(path) is full; nothing of this write was kept")
        } catch let error as DatabaseError {
            throw StoreError("\(what) failed: \(error.message ?? "\(error.resultCode)")")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }
}

// MARK: - Float vectors as blobs

extension Array where Element == Float {
    /// Float32 bytes in the machine's order, the on-disk form of every vector; every platform
    /// Swift and OpenBLAS serve here (x86-64, arm64) is little-endian.
    public var blob: Data {
        withUnsafeBufferPointer { Data(buffer: $0) }
    }

    public init(blob: Data) {
        self = [Float](unsafeUninitializedCapacity: blob.count / 4) { buffer, count in
            count = blob.copyBytes(to: buffer) / 4
        }
    }
}

import Foundation

/// bookrec's PostgreSQL store, for a cluster that outgrew one host: the coordinator, the
/// workers and the query side on any hosts reach one database. Every write is one transaction;
/// a transaction that fails on a lost connection, a server shutting down or a serialization
/// conflict is run again (after backoff, for up to `retryFor` seconds), as a busy SQLite write
/// waits. Batches of rows travel as arrays in one statement (`unnest`), never a statement per row.
public final class PostgresStore: Store, @unchecked Sendable {
    public let url: PostgresURL
    public var location: String { url.description }
    let pool: PostgresPool
    let retryFor: TimeInterval

    public init(url: PostgresURL, readOnly: Bool = false, retryFor: TimeInterval = 30) throws {
        self.url = url
        self.retryFor = retryFor
        pool = PostgresPool(url: url, readOnly: readOnly)
        if readOnly {
            let exists = try run("opening the store") { connection in
                try connection.query("SELECT to_regclass('schemamigration') IS NOT NULL").bool(0, 0)
            }
            guard exists else { throw StoreNotFound(location) }
        } else {
            try run("bringing the store's schema up to date") { connection in try PostgresSchema.migrate(connection) }
        }
    }

    public func lockCoordinator(onLoss: @escaping @Sendable (String) -> Void) throws -> any CoordinatorLock {
        try PostgresCoordinatorLock(url: url, retryFor: retryFor, onLoss: onLoss)
    }

    /// Runs a write transaction, again while it fails transiently.
    func write<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { StoreMetrics.writeDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        return try run(what) { connection in try connection.transaction { try body(connection) } }
    }

    /// Runs a read of one statement (which sees one snapshot by itself: no transaction, one round
    /// trip), again while it fails transiently.
    func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try run("reading the store", body)
    }

    /// Runs a read of several statements in one read-only snapshot, again while it fails transiently.
    func readSnapshot<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try run("reading the store") { connection in try connection.transaction(readOnly: true) { try body(connection) } }
    }

    private func run<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(retryFor)
        var delay = 0.05
        while true {
            do {
                return try pool.withConnection(body)
            } catch let error as PostgresError where error.isTransient && Date().addingTimeInterval(delay) < deadline {
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 1)
            } catch let error as PostgresError {
                throw StoreError("\(what) failed: \(error)\(error.isTransient ? " (still failing after \(Int(retryFor)) s)" : "")")
            }
        }
    }
}

/// The coordinator lock of a PostgreSQL store: a session advisory lock held by a connection of
/// its own, released when the coordinator releases it or its connection ends (the process died).
/// A keeper thread checks the connection every second; when it is gone (the server restarted, the
/// link was cut) it takes the lock back on a new connection, for as long as the store retries
/// (`retryFor`), and calls `onLoss` if it cannot or another coordinator took it meanwhile.
final class PostgresCoordinatorLock: CoordinatorLock, @unchecked Sendable {
    /// The advisory lock's key: the same for every bookrec store (one store per database).
    /// StoreDriverTests takes it by number too.
    static let key = 0x626F_6F6B_7265_63  // "bookrec"
    private let url: PostgresURL
    private let holder: String
    private let condition = NSCondition()
    private var connection: PostgresConnection?
    private var released = false

    init(url: PostgresURL, retryFor: TimeInterval, onLoss: @escaping @Sendable (String) -> Void) throws {
        self.url = url
        holder = String("bookrec-coordinator pid \(ProcessInfo.processInfo.processIdentifier) on \(ProcessInfo.processInfo.hostName)".prefix(63))
        do {
            connection = try take()
        } catch let error as PostgresError {
            throw StoreError("cannot take the coordinator lock of \(url): \(error)")
        }
        Thread.detachNewThread { self.keep(retryFor: retryFor, onLoss: onLoss) }
    }

    /// A new connection holding the lock, or a StoreError naming the coordinator that holds it.
    private func take() throws -> PostgresConnection {
        let connection = try PostgresConnection(url: url, applicationName: holder, readOnly: false)
        guard try connection.query("SELECT pg_try_advisory_lock($1)", [Self.key]).bool(0, 0) else {
            let other = try connection.query(
                """
                SELECT activity.application_name, host(activity.client_addr) FROM pg_locks AS lock
                JOIN pg_stat_activity AS activity ON activity.pid = lock.pid
                WHERE lock.locktype = 'advisory' AND lock.granted AND lock.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND (lock.classid::bigint << 32 | lock.objid::bigint) = $1
                """, [Self.key])
            let description = other.count == 0 ? "" : " (\(other.string(0, 0))\(other.optionalString(0, 1).map { " from \($0)" } ?? ""))"
            throw StoreError("another coordinator is running against \(url)\(description); wait for it or stop it")
        }
        return connection
    }

    /// Checks the connection every second; the lock is held only while the check runs, never
    /// during a query, so `release` is never kept waiting by a slow network.
    private func keep(retryFor: TimeInterval, onLoss: @Sendable (String) -> Void) {
        while true {
            condition.lock()
            if !released { condition.wait(until: Date().addingTimeInterval(1)) }
            let held = released ? nil : connection
            condition.unlock()
            guard let held else { return }
            if (try? held.query("SELECT 1")) != nil { continue }
            // The connection, and the lock with it, is gone: take it back before anyone else does.
            let deadline = Date().addingTimeInterval(retryFor)
            var retaken: PostgresConnection?
            while retaken == nil {
                do {
                    retaken = try take()
                } catch let error as StoreError {
                    onLoss("lost the coordinator lock of \(url): \(error)")
                    return
                } catch {
                    guard Date() < deadline else {
                        onLoss("lost the coordinator lock of \(url) and could not take it back within \(Int(retryFor)) s: \(error)")
                        return
                    }
                    Thread.sleep(forTimeInterval: 0.5)
                }
            }
            condition.lock()
            if !released { connection = retaken }
            condition.unlock()
        }
    }

    /// Ends the lock's session, which frees the lock.
    func release() {
        condition.lock()
        released = true
        connection = nil
        condition.broadcast()
        condition.unlock()
    }
}

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

    public func lockCoordinator() throws -> any CoordinatorLock {
        try PostgresCoordinatorLock(url: url)
    }

    /// Runs a write transaction, again while it fails transiently.
    func write<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { StoreMetrics.writeDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        return try run(what) { connection in try connection.transaction { try body(connection) } }
    }

    /// Runs a read in one read-only snapshot, again while it fails transiently.
    func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
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
final class PostgresCoordinatorLock: CoordinatorLock {
    /// The advisory lock's key: the same for every bookrec store (one store per database).
    static let key = 0x626F_6F6B_7265_63  // "bookrec"
    private var connection: PostgresConnection?

    init(url: PostgresURL) throws {
        let holder = "bookrec-coordinator pid \(ProcessInfo.processInfo.processIdentifier) on \(ProcessInfo.processInfo.hostName)"
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(url: url, applicationName: String(holder.prefix(63)), readOnly: false)
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
        } catch let error as PostgresError {
            throw StoreError("cannot take the coordinator lock of \(url): \(error)")
        }
        self.connection = connection
    }

    func release() {
        _ = try? connection?.query("SELECT pg_advisory_unlock($1)", [Self.key])
        connection = nil
    }
}

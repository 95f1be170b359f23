import Foundation

/// Opens the store at `location`: a `postgres://` or `postgresql://` URL is a PostgreSQL store
/// (`PostgresStore`); a path, or a `sqlite:` URL, is an SQLite file (`SQLiteStore`). Writable
/// opens create the store or bring its schema up to date; read-only opens of a store that does
/// not exist fail with `StoreNotFound`. A write waits up to `busyTimeout` seconds for another
/// process's write (SQLite) or for the database to come back (PostgreSQL) before it fails.
public func openStore(
    _ location: String, readOnly: Bool = false, busyTimeout: TimeInterval = 30,
    environment: [String: String] = ProcessInfo.processInfo.environment
) throws -> any Store {
    if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
        return try PostgresStore(
            url: try PostgresURL(location, environment: environment), readOnly: readOnly, retryFor: busyTimeout)
    }
    var path = location
    if path.hasPrefix("sqlite://") {
        path.removeFirst("sqlite://".count)
    } else if path.hasPrefix("sqlite:") {
        path.removeFirst("sqlite:".count)
    }
    return try SQLiteStore(path: path, readOnly: readOnly, busyTimeout: busyTimeout)
}

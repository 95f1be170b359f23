import ArgumentParser
import BookrecStore
import Foundation

/// Where the store lives: `--store`, else `BOOKREC_STORE`, else `bookrec.sqlite` here.
public struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: an SQLite file's path, or postgres://user@host:port/database (default: $BOOKREC_STORE, else ./bookrec.sqlite). "
                + "A PostgreSQL password comes from PGPASSWORD, PGPASSFILE or BOOKREC_STORE_PASSWORD_FILE, never from the command line.",
            valueName: "path-or-url"))
    public var store: String?

    public init() {}

    public func validate() throws {
        if let store, PostgresURL.hasPassword(store) {
            throw ValidationError("--store must not carry a password (it would show in the process list); use PGPASSWORD, PGPASSFILE or BOOKREC_STORE_PASSWORD_FILE")
        }
    }

    public var location: String {
        store ?? ProcessInfo.processInfo.environment["BOOKREC_STORE"] ?? "bookrec.sqlite"
    }

    /// Opens the store (see `openStore`).
    public func open(readOnly: Bool = false, busyTimeout: TimeInterval = 30) throws -> any Store {
        try openStore(location, readOnly: readOnly, busyTimeout: busyTimeout)
    }
}

/// Writes a line to standard error (progress and diagnostics, kept apart from results).
public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Prints the import problems, at most `limit` of them, then a count of the rest.
public func reportProblems<S: Sequence>(_ problems: S, limit: Int = 20) where S.Element: CustomStringConvertible {
    var shown = 0
    var hidden = 0
    for problem in problems {
        if shown < limit {
            printError("  \(problem)")
            shown += 1
        } else {
            hidden += 1
        }
    }
    if hidden > 0 { printError("  … and \(hidden) more") }
}

import ArgumentParser
import Foundation

/// Where the store lives: `--store`, else `BOOKREC_STORE`, else `bookrec.sqlite` here.
public struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Path of the SQLite store (default: $BOOKREC_STORE, else ./bookrec.sqlite).", valueName: "path"))
    public var store: String?

    public init() {}

    public var path: String {
        store ?? ProcessInfo.processInfo.environment["BOOKREC_STORE"] ?? "bookrec.sqlite"
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

import ArgumentParser
import BookrecCLI
import BookrecService
import BookrecStore
import Foundation

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bookrec-query",
        abstract: "Reads the precomputed recommendations of the active generation.",
        discussion: "Human-readable output by default, --json for machines. An unknown reader or book exits 1 with a message.",
        subcommands: [RecommendCommand.self, SimilarCommand.self, RankCommand.self, ExportCommand.self, StatusCommand.self, ServeCommand.self])
}

/// Options every query takes.
struct QueryOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func reader() throws -> QueryReader {
        do {
            return try QueryReader(store: try storeOptions.open(readOnly: true))
        } catch {
            throw CleanExit.failure("\(error)")
        }
    }
}

/// The check of a query's `-k` (how many books it lists), before anything is read.
func validateBookCount(_ k: Int) throws {
    guard k >= 1 else { throw ValidationError("-k must be at least 1 (got \(k))") }
}

extension CleanExit {
    /// Prints the message to standard error and exits 1: for errors the user can fix.
    static func failure(_ message: String) -> ExitCode {
        printError("bookrec-query: \(message)")
        return ExitCode(1)
    }
}

/// Runs a query body, turning QueryError and StoreError into a message and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as QueryError {
        throw CleanExit.failure(error.description)
    } catch let error as StoreError {
        throw CleanExit.failure(error.description)
    }
}

/// Prints an answer as JSON (the HTTP service's body for the same question); a value JSON
/// cannot hold (a NaN score) fails the command with the reason instead of printing nothing and
/// exiting 0.
func printJSON<Answer: Encodable>(_ answer: Answer) throws {
    let data: Data
    do { data = try encodeAnswer(answer) } catch {
        throw CleanExit.failure("the answer cannot be written as JSON: \(error)")
    }
    print(String(decoding: data, as: UTF8.self))
}

func formatScore(_ score: Double) -> String { String(format: "%.6f", score) }

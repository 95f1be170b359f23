import ArgumentParser
import BookrecCLI
import BookrecStore
import Foundation

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Makes the previous complete generation (or --to N) active again, in one transaction.",
        discussion: "Nothing is deleted: rolling forward is `rollback --to` the newer generation. Queries see the change at once.")

    @Option(help: "The complete generation to activate (default: the newest one older than the active one).")
    var to: Int?

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        try withCoordinatorLock(storeOptions) { store in
            let (from, to) = try store.rollback(to: to)
            print("generation \(to) active (was \(from))")
        }
    }
}

struct GarbageCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Deletes old generations, keeping the newest N complete ones and the active one.",
        discussion: """
            Failed generations and complete ones beyond the newest N go, with their vectors and lists; the active \
            generation and any still being built (a coordinator can resume it) stay. The catalog and the encoder \
            cache are kept. SQLite reuses the freed pages; the file does not shrink.
            """)

    @Option(help: "Complete generations to keep besides the active one.")
    var keep: Int

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        guard keep >= 0 else { throw ValidationError("--keep must be 0 or more") }
    }

    func run() throws {
        try withCoordinatorLock(storeOptions) { store in
            let result = try store.collectGarbage(keep: keep)
            if result.generations.isEmpty {
                print("nothing to delete")
            } else {
                print("deleted generation(s) \(result.generations.map(String.init).joined(separator: ", ")) with \(result.recommendations) recommendation rows")
            }
        }
    }
}

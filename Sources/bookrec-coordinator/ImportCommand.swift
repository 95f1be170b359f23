import ArgumentParser
import BookrecCLI
import BookrecData
import BookrecStore
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Imports books, ratings, tags, genres, descriptions and covers into the store.",
        discussion: """
            Reads a folder in the goodbooks layout (see data/goodbooks/README.md). Bad rows and files are \
            reported as file:line: reason and skipped; the rest is imported. Importing the same data twice \
            changes nothing. Exits 0 when something was imported, even if some rows were rejected.
            """)

    @Option(help: ArgumentHelp("Folder with books.csv, ratings.csv and the rest.", valueName: "dir"))
    var data = "data/goodbooks"

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let directory = URL(fileURLWithPath: data)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("books.csv").path) else {
            throw ValidationError("no books.csv in \(directory.path)")
        }
        let catalog = GoodbooksLoader(directory: directory).load()
        reportInput(catalog)
        guard !catalog.books.isEmpty else { throw ValidationError("no book could be imported from \(directory.path)") }
        let store = try storeOptions.open()
        print(describe(try store.importCatalog(books: catalog.books, covers: catalog.covers, ratings: catalog.ratings), in: store))
    }
}

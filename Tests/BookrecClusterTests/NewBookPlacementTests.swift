import BookrecCore
import BookrecData
import BookrecStore
import Foundation
import XCTest

/// A new book has no ratings, so only its text can bring it to the readers who would like it:
/// after `add-books`, it must reach the lists of readers whose taste it is close to, far more
/// often than anyone else's. Runs the default model (the one users get), through the real
/// executables, broker and store.
final class NewBookPlacementTests: XCTestCase {
    func testANewBookReachesTheListsOfReadersWhoLikedItsAuthor() throws {
        let cluster = try TestCluster()
        defer { cluster.tearDown() }
        try cluster.startWorker()
        let run = try cluster.run("bookrec-coordinator", ["run", "--top-k", "20"])
        XCTAssertEqual(run.status, 0, "coordinator failed:\n\(run.error)\nworkers:\n\(cluster.workerLogs())")
        // Six books by authors of the slice (Clare, Grisham, Rowling, Riordan, Austen, Meyer),
        // none of them in it; see Tests/Fixtures/new-books/README.md.
        let file = TestCluster.root.appendingPathComponent("Tests/Fixtures/new-books/close-to-taste.csv").path
        let added = try cluster.run("bookrec-coordinator", ["add-books", file])
        XCTAssertEqual(added.status, 0, "add-books failed:\n\(added.error)\nworkers:\n\(cluster.workerLogs())")

        // A reader is close to a new book's taste when they liked (rated 4 or more) at least two
        // books of its first author in the slice.
        let slice = GoodbooksLoader(directory: TestCluster.root.appendingPathComponent("Tests/Fixtures/goodbooks-slice")).load()
        func firstAuthor(_ book: Book) -> String {
            String(book.authors.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
        }
        let authorOf = Dictionary(uniqueKeysWithValues: slice.books.map { ($0.id, firstAuthor($0)) })
        var likedAuthors: [Int: [String: Int]] = [:]
        for rating in slice.ratings where rating.rating >= 4 {
            likedAuthors[rating.user, default: [:]][authorOf[rating.book]!, default: 0] += 1
        }
        let readers = Set(slice.ratings.map(\.user)).sorted()
        let store = try SQLiteStore(path: cluster.storeLocation, readOnly: true)
        var lists: [Int: Set<Int>] = [:]
        for reader in readers {
            lists[reader] = Set(try store.recommendations(generationID: 2, userID: reader, limit: 20).map(\.bookID))
        }
        let newBooks = try store.books(ids: [319, 343, 422, 428, 451, 992])
        XCTAssertEqual(newBooks.count, 6)
        var close = (readers: 0, reached: 0), others = (readers: 0, reached: 0)
        var report: [String] = []
        for book in newBooks {
            let author = firstAuthor(book)
            let fans = Set(readers.filter { likedAuthors[$0]?[author] ?? 0 >= 2 })
            XCTAssertGreaterThan(fans.count, 30, "\(author) has readers in the slice who liked two of their books")
            let reachedFans = fans.filter { lists[$0]!.contains(book.id) }.count
            let reachedOthers = readers.filter { !fans.contains($0) && lists[$0]!.contains(book.id) }.count
            report.append("\(book.id) (\(author)): \(reachedFans) of \(fans.count) close readers, \(reachedOthers) of \(readers.count - fans.count) others")
            close.readers += fans.count
            close.reached += reachedFans
            others.readers += readers.count - fans.count
            others.reached += reachedOthers
            // Each book is at least three times as likely in a close reader's list as in another's.
            XCTAssertGreaterThan(
                Double(reachedFans) / Double(fans.count), 3 * Double(reachedOthers) / Double(readers.count - fans.count), report.last!)
        }
        let closeShare = Double(close.reached) / Double(close.readers), otherShare = Double(others.reached) / Double(others.readers)
        print("new books in top-20 lists: " + report.joined(separator: "; "))
        // Nearly every close reader gets the new book in their top 20, far more often than the
        // others (296 of 301 close pairs, 98%, against 738 of 8,699 others, 8.5%, with the
        // default model; the margins allow for other BLAS kernels).
        XCTAssertGreaterThan(closeShare, 0.85, report.joined(separator: "\n"))
        XCTAssertGreaterThan(closeShare, 8 * otherShare, report.joined(separator: "\n"))
    }
}

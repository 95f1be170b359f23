import BookrecCore
import BookrecData
import BookrecStore
import Foundation

/// Rejects the new books whose id the catalog already holds with other text or another cover:
/// `add-books` adds books and leaves stored ones alone; changing a book is `import` and a full
/// `run`. Books already stored exactly as given stay accepted, so adding a file twice is harmless.
public func rejectChangedBooks(_ additions: inout CatalogImport, store: Store) throws {
    let stored = try store.books(ids: additions.books.map(\.id))
    let storedCovers = try store.coverHashes(bookIDs: stored.map(\.id))
    let given = Dictionary(uniqueKeysWithValues: additions.books.map { ($0.id, $0) })
    for book in stored {
        let sameText = given[book.id] == book
        let sameCover = additions.covers[book.id].map { contentHash([UInt8]($0)) } == storedCovers[book.id]
        if !sameText || !sameCover {
            additions.reject(
                book: book.id,
                reason: "book_id \(book.id) is already in the catalog (\"\(book.title)\") with \(sameText ? "another cover" : "other text"); add-books only adds books (change one with `import` and a full `run`)")
        }
    }
}

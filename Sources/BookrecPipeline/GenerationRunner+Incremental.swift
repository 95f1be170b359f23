import BookrecCore
import BookrecQueue
import BookrecStore
import Foundation

/// What an incremental command did: the generation active afterwards (a new one, unless there
/// was nothing to do: count 0), how many books or readers it covered, and phase times.
public struct IncrementalOutcome: Sendable {
    public let activeGenerationID: Int
    public let count: Int
    public let timings: GenerationRunner.Timings
}

extension GenerationRunner {
    /// Brings books of the catalog that the active generation has no vector for into a new
    /// generation: workers encode them, the coordinator places them with the active model (their
    /// content, and the collaborative factors of their nearest rated books by content: a new book
    /// has no collaborative residual of its own), and every reader's stored top-K is
    /// merged with their top-K over the new books. Old books are not scored again.
    public func addBooks() throws -> IncrementalOutcome {
        let started = Date()
        var timings = Timings()
        let (parent, configuration) = try activeGeneration()
        let catalog = try store.loadCatalog(includingRatings: false)
        let placed = try store.bookIDsWithVectors(generationID: parent)
        let newBooks = catalog.books.filter { !placed.contains($0.id) }
        guard !newBooks.isEmpty else { return IncrementalOutcome(activeGenerationID: parent, count: 0, timings: timings) }
        let ids = newBooks.map(\.id)
        let generationID = try resumeOrDerive(.addBooks, parent: parent, ids: ids, idsBlob: ModelBlob.addedBooks, rescoredReaders: nil)

        var phaseStart = Date()
        try runPhase(.encode, generationID: generationID, ids: ids, shardSize: configuration.encodeShardSize)
        timings.encode = Date().timeIntervalSince(phaseStart)

        phaseStart = Date()
        if try !store.bookIDsWithVectors(generationID: generationID).isSuperset(of: ids) {
            try placeBooks(newBooks, coverHashes: catalog.coverHashes, generationID: generationID, configuration: configuration)
        }
        timings.train = Date().timeIntervalSince(phaseStart)

        phaseStart = Date()
        let readers = try store.readerIDs(generationID: generationID)
        try runPhase(.score, generationID: generationID, ids: readers, shardSize: configuration.scoreShardSize)
        timings.score = Date().timeIntervalSince(phaseStart)

        try store.activate(generationID)
        timings.total = Date().timeIntervalSince(started)
        return IncrementalOutcome(activeGenerationID: generationID, count: ids.count, timings: timings)
    }

    /// Folds in again, with the active model's fixed book vectors, every reader whose ratings
    /// changed since their vector was made (new readers included), and rescores only them; every
    /// other reader's list is carried over from the active generation.
    public func addRatings() throws -> IncrementalOutcome {
        let started = Date()
        var timings = Timings()
        let (parent, configuration) = try activeGeneration()
        let ratingsByReader = Dictionary(grouping: try store.loadCatalog().ratings, by: \.user)
        let fingerprints = try store.readerRatingsHashes(generationID: parent)
        let changed = ratingsByReader.filter { fingerprints[$0.key] != ratingsFingerprint($0.value) }.keys.sorted()
        guard !changed.isEmpty else { return IncrementalOutcome(activeGenerationID: parent, count: 0, timings: timings) }
        let generationID = try resumeOrDerive(.addRatings, parent: parent, ids: changed, idsBlob: ModelBlob.rescoredReaders, rescoredReaders: changed)

        var phaseStart = Date()
        try foldIn(changed, ratingsByReader: ratingsByReader, generationID: generationID)
        timings.train = Date().timeIntervalSince(phaseStart)

        phaseStart = Date()
        try runPhase(.score, generationID: generationID, ids: changed, shardSize: configuration.scoreShardSize)
        timings.score = Date().timeIntervalSince(phaseStart)

        try store.activate(generationID)
        timings.total = Date().timeIntervalSince(started)
        return IncrementalOutcome(activeGenerationID: generationID, count: changed.count, timings: timings)
    }

    private func activeGeneration() throws -> (id: Int, configuration: RunConfiguration) {
        guard let active = try store.activeGenerationID(), let record = try store.generation(active) else {
            throw RunFailure(description: "no generation is active in \(store.location); run `bookrec-coordinator run` first")
        }
        return (active, try RunConfiguration.decoded(record.configuration))
    }

    /// Resumes an interrupted generation of this kind made from the same parent for the same ids;
    /// otherwise marks such a leftover failed and derives a new generation from the parent.
    private func resumeOrDerive(_ kind: GenerationKind, parent: Int, ids: [Int], idsBlob: String, rescoredReaders: [Int]?) throws -> Int {
        let encodedIDs = try JSONEncoder().encode(ids)
        if let unfinished = try store.unfinishedGeneration(kind: kind.rawValue) {
            if unfinished.parentID == parent, try store.blob(generationID: unfinished.id, name: idsBlob) == encodedIDs {
                log("resuming generation \(unfinished.id) (\(kind.rawValue))")
                return unfinished.id
            }
            log("generation \(unfinished.id) (\(kind.rawValue)) was left unfinished for other changes; marking it failed")
            try store.markGeneration(unfinished.id, state: .failed)
        }
        guard let configuration = try store.generation(parent)?.configuration else { throw RunFailure(description: "generation \(parent) vanished") }
        let id = try store.createDerivedGeneration(
            kind: kind.rawValue, parentID: parent, configuration: configuration, blobs: [idsBlob: encodedIDs], copyListsExcept: rescoredReaders)
        log("generation \(id) (\(kind.rawValue) on generation \(parent)) created for \(ids.count) \(kind == .addBooks ? "books" : "readers")")
        return id
    }

    /// q_b and the book term of new books from their encodings and the generation's model: their
    /// content, plus the collaborative factors of their nearest rated books by content.
    /// Places each new book on its own: a book's features, factors and neighbours come out of
    /// matrix products whose rounding depends on the book's row in the call, so placing books one
    /// per call gives every book the same vector whichever books were added with it (50 enqueued
    /// files applied in a few generations equal one add-books of all of them).
    private func placeBooks(_ books: [Book], coverHashes: [Int: String], generationID: Int, configuration: RunConfiguration) throws {
        guard let blob = try store.blob(generationID: generationID, name: ModelBlob.parameters) else {
            throw RunFailure(description: "generation \(generationID) has no model parameters")
        }
        let parameters = try JSONDecoder().decode(ModelParameters.self, from: blob)
        let encoders = try EncoderSet(configuration: configuration, generationID: generationID, store: store, modelsDirectory: modelsDirectory)
        let builder = ModelBuilder(store: store, configuration: configuration, generationID: generationID, encoders: encoders)
        let stored = try store.bookVectors(generationID: generationID)
        let rated = try store.ratedBookIDs()
        let neighbours = ContentNeighbours(
            ItemSide(vectors: stored.vectors, bookTerms: stored.terms), among: stored.ids.indices.filter { rated.contains(stored.ids[$0]) },
            contentFactors: configuration.model.contentFactors)
        var itemItem = configuration.model.collaborativeResidual ? try store.itemItemWeights(generationID: generationID) : nil
        let position = itemItem.map { Dictionary(uniqueKeysWithValues: $0.bookIDs.enumerated().map { ($1, Int32($0)) }) } ?? [:]
        var placed: [(bookID: Int, vector: [Float], term: Float)] = []
        for book in books {
            let cover = coverHashes[book.id].map { [book.id: $0] } ?? [:]
            var side = parameters.itemSide(
                try builder.features(for: [book], coverHashes: cover), modalities: configuration.model.modalities, residualRows: [nil])
            if configuration.model.collaborativeResidual, itemItem != nil {
                // As the model step places the catalog's unrated books: by their nearest rated books,
                // in the factors and in the item-item weights.
                let nearest = side.placeByContent([0], neighbours: neighbours, contentFactors: configuration.model.contentFactors)[0]
                // A neighbour that had no ratings when the model was fitted (added since, or rated
                // since) has no column of B of its own: it lends its placement.
                let placements = nearest.flatMap { neighbour -> [ItemItemWeights.Placement] in
                    let id = stored.ids[neighbour.row]
                    if let lent = itemItem!.placements[id] { return lent.map { .init(position: $0.position, weight: neighbour.weight * $0.weight) } }
                    return position[id].map { [.init(position: $0, weight: neighbour.weight)] } ?? []
                }
                itemItem!.place(bookID: book.id, nearest: placements, share: 1)
            }
            placed.append((book.id, side.vectors.row(0), side.bookTerms[0]))
        }
        if let itemItem { try store.saveBlob(generationID: generationID, name: ModelBlob.itemItem, bytes: itemItem.serialized()) }
        try store.saveBookVectors(generationID: generationID, placed)
    }

    /// p_u (and β_u) of each reader solved against the generation's fixed book vectors.
    private func foldIn(_ readers: [Int], ratingsByReader: [Int: [Rating]], generationID: Int) throws {
        guard let blob = try store.blob(generationID: generationID, name: ModelBlob.foldIn) else {
            throw RunFailure(description: "generation \(generationID) has no fold-in calibration")
        }
        let foldIn = try JSONDecoder().decode(FoldIn.self, from: blob)
        let books = try store.bookVectors(generationID: generationID)
        let row = Dictionary(uniqueKeysWithValues: books.ids.enumerated().map { ($1, $0) })
        let items = ItemSide(vectors: books.vectors, bookTerms: books.terms)
        // Ratings of books the generation has not placed yet (not added with add-books) cannot
        // inform p_u; they still keep those books out of the reader's list.
        let known = readers.map { user in
            (ratingsByReader[user] ?? []).compactMap { rating in row[rating.book].map { (book: $0, rating: Float(rating.rating)) } }
        }
        let solved = zip(readers, foldIn.solve(readers: known, items: items)).map { user, solution in
            (userID: user, vector: solution.vector, bias: solution.bias, ratingsHash: ratingsFingerprint(ratingsByReader[user] ?? []))
        }
        try store.saveReaderVectors(generationID: generationID, solved)
    }
}

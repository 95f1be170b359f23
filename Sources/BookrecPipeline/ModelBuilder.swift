import BookrecCore
import BookrecStore
import Foundation

/// The coordinator's model step: gather the encoder outputs of a generation, train, and store
/// the parameters, every book's q_b and term, and every reader's p_u and β_u.
public struct ModelBuilder {
    public let store: Store
    public let configuration: RunConfiguration
    public let generationID: Int
    public let encoders: EncoderSet

    public init(store: Store, configuration: RunConfiguration, generationID: Int, encoders: EncoderSet) {
        self.store = store
        self.configuration = configuration
        self.generationID = generationID
        self.encoders = encoders
    }

    /// The text and cover vectors of these books, from the encoder cache (zero for no cover).
    public func features(for books: [Book], coverHashes: [Int: String]) throws -> BookFeatures {
        let texts = try store.encodings(encoder: encoders.textIdentity.description, hashes: books.map(\.textHash))
        let covers = try store.encodings(encoder: encoders.coverIdentity.description, hashes: Array(coverHashes.values))
        var text = Matrix(rows: books.count, columns: encoders.textDimension)
        var cover = Matrix(rows: books.count, columns: encoders.coverDimension)
        for (row, book) in books.enumerated() {
            guard let vector = texts[book.textHash] else {
                throw StoreError("book \(book.id) has no \(encoders.textIdentity) encoding; its encode shard did not finish")
            }
            text.setRow(row, vector)
            if let hash = coverHashes[book.id], let vector = covers[hash] { cover.setRow(row, vector) }
        }
        return BookFeatures(text: text, cover: cover)
    }

    /// BLAS threads of the model step. The workers wait while it runs, so it may use the
    /// machine; the count is fixed, not the machine's, because a product's rounding depends on
    /// how its rows are split among threads, and the model must not depend on the host.
    public static let blasThreads = 2

    /// Publishes the given train shards (index and ids) of an iALS round and returns once all are done.
    public typealias TrainShardDispatch = (_ round: Int, _ shards: [(index: Int, ids: [Int])]) throws -> Void

    /// Trains and stores the model of the generation on `catalog`: iALS's rounds as train jobs
    /// that `trainShards` has the workers run (`ImplicitALSRounds`), the rest here. Returns the
    /// trained parameters.
    @discardableResult
    public func build(catalog: StoredCatalog, trainShards: @escaping TrainShardDispatch, log: @escaping (String) -> Void = { _ in }) throws -> ModelParameters {
        setBLASThreads(Self.blasThreads)
        defer { setBLASThreads(1) }
        let books = catalog.books
        let features = try features(for: books, coverHashes: catalog.coverHashes)
        let data = IndexedData(bookIDs: books.map(\.id), training: catalog.ratings)
        let interactions = data.interactions
        let readerIDs = data.readerIDs
        log("training on \(interactions.count) ratings of \(readerIDs.count) readers and \(books.count) books")
        var started = Date()
        let rounds = ImplicitALSRounds(
            store: store, generationID: generationID,
            problem: ImplicitALSProblem(
                configuration: configuration.model.implicitALS, readerIDs: readerIDs, bookIDs: books.map(\.id),
                interactions: interactions, shardSize: configuration.trainShardSize),
            dispatch: trainShards)
        var roundsStarted: Date?
        let parameters = try Trainer(configuration: configuration.model).train(
            features: features, interactions: interactions,
            solveImplicitALSRound: { round, readers, books in
                if round == 0 {
                    roundsStarted = Date()
                    log(String(format: "content start: %.1f s", Date().timeIntervalSince(started)))
                }
                return try rounds.solveRound(round, readerFactors: readers, bookFactors: books)
            }
        ) { epoch, loss in
            log(String(format: "epoch %d/%d: loss %.4f", epoch, configuration.model.epochs, loss))
        }
        if let roundsStarted {
            log(String(format: "iALS: %d rounds of train jobs on the workers: %.1f s", rounds.problem.rounds, Date().timeIntervalSince(roundsStarted)))
        }
        started = Date()
        let model = try parameters.scoringModel(features, configuration: configuration.model, interactions: interactions, bookIDs: books.map(\.id))
        let side = model.side
        log(String(format: "item-item weights and placements: %.1f s", Date().timeIntervalSince(started)))
        started = Date()
        let foldIn = FoldIn(configuration: configuration.model, parameters: parameters, items: side, interactions: interactions)

        try store.saveBookVectors(
            generationID: generationID,
            books.enumerated().map { (row, book) in (book.id, side.vectors.row(row), side.bookTerms[row]) })
        let ratingsByReader = Dictionary(grouping: catalog.ratings, by: \.user)
        try store.saveReaderVectors(
            generationID: generationID,
            readerIDs.enumerated().map { (row, user) in
                (user, parameters.readerVectors.row(row), parameters.readerBias[row], ratingsFingerprint(ratingsByReader[user] ?? []))
            })
        try store.saveBlob(generationID: generationID, name: ModelBlob.foldIn, bytes: try JSONEncoder().encode(foldIn))
        if let itemItem = model.itemItem {
            try store.saveBlob(generationID: generationID, name: ModelBlob.itemItem, bytes: itemItem.serialized())
        }
        try store.saveBlob(
            generationID: generationID, name: ModelBlob.encoders,
            bytes: Data("\(encoders.textIdentity), \(encoders.coverIdentity)".utf8))
        var stored = parameters
        // Reader vectors have their own table; the blob keeps what places new books. It is written
        // last: its presence marks the model step done for a resumed run.
        stored.readerVectors = Matrix(rows: 0, columns: parameters.readerVectors.columns)
        stored.readerBias = []
        try store.saveBlob(generationID: generationID, name: ModelBlob.parameters, bytes: try JSONEncoder().encode(stored))
        try store.deleteBlobs(generationID: generationID, prefix: ModelBlob.implicitALSPrefix)
        log(String(format: "fold-in calibration and storing the model: %.1f s", Date().timeIntervalSince(started)))
        return parameters
    }
}

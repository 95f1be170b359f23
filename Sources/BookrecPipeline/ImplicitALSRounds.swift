import BookrecCore
import BookrecStore
import Foundation

/// iALS, the collaborative start of a full run, as train jobs on the workers.
///
/// Round r solves the readers (r even) or the books (r odd) against the other side's latest
/// values (`ImplicitALS.Side`). The coordinator cuts the round's side into shards of
/// `shardSize` consecutive rows and publishes one train job per shard; a worker solves its rows
/// (`ImplicitALS.solve`, whose values do not depend on how the rows are split) and stores them
/// as the blob `ials/<round>/<shard>`, marking the shard done in the same transaction. The next
/// round's workers read the other side from those blobs. The coordinator reads each round's
/// solved side back too (the last two are the model's factors). Everything a job reads is in the
/// store: the problem (`ials/problem`: ratings as lists, ids, configuration, shard size) and the
/// seeded starts of both sides, cut into shards like a round's results (rounds −2 and −1).
public struct ImplicitALSProblem: Codable, Sendable {
    public let configuration: ImplicitALSConfiguration
    /// The ids of the rows of each side, in row order.
    public let readerIDs: [Int]
    public let bookIDs: [Int]
    /// Rows per train job.
    public let shardSize: Int
    /// Per reader row, how many books they rated, and those books' rows in reader order.
    let ratedCounts: [Int32]
    let ratedBooks: [Int32]

    public init(configuration: ImplicitALSConfiguration, readerIDs: [Int], bookIDs: [Int], interactions: Interactions, shardSize: Int) {
        precondition(shardSize > 0 && readerIDs.count == interactions.readers && bookIDs.count == interactions.books)
        self.configuration = configuration
        self.readerIDs = readerIDs
        self.bookIDs = bookIDs
        self.shardSize = shardSize
        ratedCounts = interactions.booksByReader.map { Int32($0.count) }
        ratedBooks = Array(interactions.booksByReader.joined())
    }

    enum CodingKeys: String, CodingKey {
        case configuration, readerIDs = "reader_ids", bookIDs = "book_ids", shardSize = "shard_size"
        case ratedCounts = "rated_counts", ratedBooks = "rated_books"
    }

    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        configuration = try container.decode(ImplicitALSConfiguration.self, forKey: .configuration)
        readerIDs = try [Int](blob: container.decode(Data.self, forKey: .readerIDs))
        bookIDs = try [Int](blob: container.decode(Data.self, forKey: .bookIDs))
        shardSize = try container.decode(Int.self, forKey: .shardSize)
        ratedCounts = try [Int32](blob: container.decode(Data.self, forKey: .ratedCounts))
        ratedBooks = try [Int32](blob: container.decode(Data.self, forKey: .ratedBooks))
        guard shardSize > 0, ratedCounts.count == readerIDs.count, ratedCounts.allSatisfy({ $0 >= 0 }),
            ratedCounts.reduce(0, { $0 + Int($1) }) == ratedBooks.count, ratedBooks.allSatisfy({ $0 >= 0 && Int($0) < bookIDs.count })
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the iALS problem's ratings do not fit its readers and books"))
        }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(configuration, forKey: .configuration)
        try container.encode(readerIDs.blob, forKey: .readerIDs)
        try container.encode(bookIDs.blob, forKey: .bookIDs)
        try container.encode(shardSize, forKey: .shardSize)
        try container.encode(ratedCounts.blob, forKey: .ratedCounts)
        try container.encode(ratedBooks.blob, forKey: .ratedBooks)
    }

    /// Per reader row, the rows of the books they rated.
    func booksByReader() -> [[Int32]] {
        var lists = [[Int32]](), start = 0
        lists.reserveCapacity(ratedCounts.count)
        for count in ratedCounts {
            lists.append(Array(ratedBooks[start..<(start + Int(count))]))
            start += Int(count)
        }
        return lists
    }

    public var rounds: Int { 2 * configuration.epochs }

    func rows(of side: ImplicitALS.Side) -> Int { side == .readers ? readerIDs.count : bookIDs.count }
    func ids(of side: ImplicitALS.Side) -> [Int] { side == .readers ? readerIDs : bookIDs }
    func shardCount(_ side: ImplicitALS.Side) -> Int { (rows(of: side) + shardSize - 1) / shardSize }

    /// The rows of the round's side that its `position`-th shard solves.
    func rows(shard position: Int, of side: ImplicitALS.Side) -> Range<Int> {
        (position * shardSize)..<min((position + 1) * shardSize, rows(of: side))
    }

    /// The index of the round's first shard among all the run's train shards.
    func firstShardIndex(round: Int) -> Int {
        round / 2 * (shardCount(.readers) + shardCount(.books)) + (round % 2 == 0 ? 0 : shardCount(.readers))
    }

    /// The ids of the rows of each shard of a round.
    func shards(round: Int) -> [[Int]] {
        let side = ImplicitALS.Side(round: round), ids = ids(of: side)
        return (0..<shardCount(side)).map { Array(ids[rows(shard: $0, of: side)]) }
    }

    static let blobName = ModelBlob.implicitALSPrefix + "problem"
    /// The rows of a shard after a round: rounds −2 and −1 are the readers' and the books' starts.
    static func resultBlobName(round: Int, shard position: Int) -> String { ModelBlob.implicitALSPrefix + "\(round)/\(position)" }

    /// A side's values cut into its shards' blobs, as a round leaves them.
    func shardBlobs(of factors: Matrix, side: ImplicitALS.Side, round: Int) -> [(name: String, bytes: Data)] {
        let k = factors.columns
        return (0..<shardCount(side)).map { position in
            let rows = rows(shard: position, of: side)
            return (Self.resultBlobName(round: round, shard: position), Array(factors.values[(rows.lowerBound * k)..<(rows.upperBound * k)]).blob)
        }
    }
}

extension Store {
    /// The values of `side` after `round` (its start for round −2 or −1), read from the shards' blobs.
    func implicitALSFactors(generationID: Int, problem: ImplicitALSProblem, side: ImplicitALS.Side, after round: Int) throws -> Matrix {
        var values = [Float]()
        values.reserveCapacity(problem.rows(of: side) * problem.configuration.factors)
        for position in 0..<problem.shardCount(side) {
            values += try implicitALSRows(generationID: generationID, problem: problem, side: side, shard: position, after: round).values
        }
        return Matrix(rows: problem.rows(of: side), columns: problem.configuration.factors, values: values)
    }

    /// The rows of one shard of `side` after `round`.
    func implicitALSRows(generationID: Int, problem: ImplicitALSProblem, side: ImplicitALS.Side, shard position: Int, after round: Int) throws -> Matrix {
        let name = ImplicitALSProblem.resultBlobName(round: round, shard: position)
        guard let bytes = try blob(generationID: generationID, name: name) else {
            throw StoreError("generation \(generationID) has no \(name); its train shard did not finish")
        }
        let rows = problem.rows(shard: position, of: side).count, k = problem.configuration.factors
        let values = [Float](blob: bytes)
        guard values.count == rows * k else {
            throw StoreError("\(name) of generation \(generationID) holds \(values.count) values, not \(rows) × \(k)")
        }
        return Matrix(rows: rows, columns: k, values: values)
    }
}

/// The coordinator's side: an `ImplicitALS.RoundSolver` that stores the problem and the starts,
/// has each round's shards run by `dispatch`, and reads the solved side back.
struct ImplicitALSRounds {
    let store: Store
    let generationID: Int
    let problem: ImplicitALSProblem
    let dispatch: ModelBuilder.TrainShardDispatch

    /// Round 0 first stores the problem and the starts, and plans every shard of every round
    /// (shards already planned keep their state on a resume): a model without iALS plans none.
    func solveRound(_ round: Int, readerFactors: Matrix, bookFactors: Matrix) throws -> Matrix {
        if round == 0 {
            try store.saveBlob(generationID: generationID, name: ImplicitALSProblem.blobName, bytes: try JSONEncoder().encode(problem))
            for (name, bytes) in problem.shardBlobs(of: readerFactors, side: .readers, round: -2) + problem.shardBlobs(of: bookFactors, side: .books, round: -1) {
                try store.saveBlob(generationID: generationID, name: name, bytes: bytes)
            }
            try store.planShards(generationID: generationID, kind: .train, shards: (0..<problem.rounds).flatMap(problem.shards(round:)))
        }
        let side = ImplicitALS.Side(round: round)
        let first = problem.firstShardIndex(round: round)
        try dispatch(round, problem.shards(round: round).enumerated().map { (first + $0, $1) })
        return try store.implicitALSFactors(generationID: generationID, problem: problem, side: side, after: round)
    }
}

/// The worker's side: what a worker keeps of a generation's iALS problem, and the work of one
/// train job.
final class ImplicitALSContext: @unchecked Sendable {
    let generationID: Int
    let problem: ImplicitALSProblem
    private let booksByReader: [[Int32]]
    private let readersByBook: [[Int32]]
    private let lock = NSLock()
    /// The fixed side of the last round this worker solved, with its weighted Gram matrix.
    private var fixed: (round: Int, factors: Matrix, gram: Matrix)?

    init(store: Store, generationID: Int) throws {
        guard let bytes = try store.blob(generationID: generationID, name: ImplicitALSProblem.blobName) else {
            throw PermanentJobError("generation \(generationID) has no iALS problem; its coordinator did not plan train jobs")
        }
        do { problem = try JSONDecoder().decode(ImplicitALSProblem.self, from: bytes) } catch {
            throw PermanentJobError("the iALS problem of generation \(generationID) is damaged: \(error)")
        }
        self.generationID = generationID
        booksByReader = problem.booksByReader()
        readersByBook = Interactions.readersByBook(booksByReader, books: problem.bookIDs.count)
    }

    /// Solves the rows of one train shard and stores them. The job must be the plan's: a round
    /// of the run, a shard of that round, the ids of exactly that shard's rows.
    @discardableResult
    func run(store: Store, shardIndex: Int, ids: [Int], round: Int) throws -> String {
        let started = Date()
        guard (0..<problem.rounds).contains(round) else {
            throw PermanentJobError("train shard \(shardIndex) names round \(round); generation \(generationID) has rounds 0..<\(problem.rounds)")
        }
        let side = ImplicitALS.Side(round: round)
        let position = shardIndex - problem.firstShardIndex(round: round)
        guard (0..<problem.shardCount(side)).contains(position) else {
            throw PermanentJobError("train shard \(shardIndex) is not one of the \(problem.shardCount(side)) shards of round \(round)")
        }
        let rows = problem.rows(shard: position, of: side)
        guard ids.elementsEqual(problem.ids(of: side)[rows]) else {
            throw PermanentJobError("train shard \(shardIndex) names other ids than the \(side.rawValue) of rows \(rows.lowerBound)..<\(rows.upperBound) it was planned with")
        }
        let other: ImplicitALS.Side = side == .readers ? .books : .readers
        let (fixed, gram) = try fixedSide(store: store, round: round, side: other)
        // The same shard of the side's previous round: a side is cut the same way every round.
        let current = try store.implicitALSRows(generationID: generationID, problem: problem, side: side, shard: position, after: round - 2)
        let solved = ImplicitALS.solve(
            rows: rows, current: current, rated: side == .readers ? booksByReader : readersByBook, fixed: fixed, gram: gram,
            configuration: problem.configuration)
        FaultInjection.reached("train", "before-commit")
        try store.completeTrainShard(
            generationID: generationID, index: shardIndex, blobName: ImplicitALSProblem.resultBlobName(round: round, shard: position),
            bytes: solved.values.blob)
        return String(format: "round %d: %@ %d..<%d in %.2f s", round, side.rawValue, rows.lowerBound, rows.upperBound, Date().timeIntervalSince(started))
    }

    /// The other side after the previous round, read once per round and kept with its Gram matrix.
    private func fixedSide(store: Store, round: Int, side: ImplicitALS.Side) throws -> (Matrix, Matrix) {
        lock.lock()
        defer { lock.unlock() }
        if let fixed, fixed.round == round { return (fixed.factors, fixed.gram) }
        let factors = try store.implicitALSFactors(generationID: generationID, problem: problem, side: side, after: round - 1)
        let gram = ImplicitALS.weightedGram(factors, configuration: problem.configuration)
        fixed = (round, factors, gram)
        return (factors, gram)
    }
}

import Foundation

/// The item-item part of bookrec's model and how it enters a logit.
public struct ItemItemConfiguration: Codable, Equatable, Sendable {
    /// λ of EASE^R.
    public var regularization: Float = 80
    /// γ: the weight of the books' content similarity (cosine of their content factors) added to
    /// the co-rating counts of the Gram matrix, as if every content factor were a reader.
    public var contentWeight: Float = 30
    /// Weights kept per book (the largest in magnitude); the rest are dropped.
    public var keptWeights = 1000
    /// What a reader's rating of 3, and of 1 or 2, counts in their row (a rating of 4 or 5 counts 1).
    public var neutralWeight: Float = 0.5
    public var dislikedWeight: Float = 0
    /// Multiplies the item-item score in the logit, against p_u·q_b + wᵀh_b + c + β_u.
    public var scale: Float = 32
    /// ρ: a catalog book that has no ratings when the model is fitted scores ρ × the weighted
    /// sum of its nearest rated books' item-item scores (`ItemSide.placeByContent`). Among
    /// thousands of ratings, having none says the book is little read: on validation a full share
    /// put such books above better-known ones (docs/EVALUATION.md). A book added later
    /// (`add-books`) is new, not unread, and takes a full share.
    public var unratedShare: Float = 0.5

    public init() {}

    public func readerWeight(rating: Float) -> Float {
        Self.readerWeight(rating: rating, neutral: neutralWeight, disliked: dislikedWeight)
    }

    /// What a rated book counts in a reader's row: 1 for a rating of 4 or 5, `neutral` for 3,
    /// `disliked` for 1 or 2.
    public static func readerWeight(rating: Float, neutral: Float, disliked: Float) -> Float {
        rating >= 4 ? 1 : rating >= 3 ? neutral : disliked
    }
}

/// Sparse EASE^R weights over a model's books, with the content→collaborative placement of the
/// books that had no ratings: a reader's item-item score of book j is
/// Σ_{i rated} f(r_ui)·B_ij for a book with ratings, and share × Σ_n w_n·score(n) over its
/// nearest rated books by content for one without (the placement the factors use).
public struct ItemItemWeights: Equatable, Sendable {
    public internal(set) var configuration: ItemItemConfiguration
    /// The model's books, in the order of the rows and columns of B.
    public let bookIDs: [Int]
    /// CSR rows of B: row i holds the weights book i gives other books, by ascending column.
    let offsets: [Int]
    let columns: [Int32]
    let weights: [Float]
    /// Books without ratings (by id): their nearest rated books (positions in `bookIDs`) and weights.
    public private(set) var placements: [Int: [Placement]]

    public struct Placement: Equatable, Sendable {
        public let position: Int32
        public let weight: Float
        public init(position: Int32, weight: Float) {
            self.position = position
            self.weight = weight
        }
    }

    /// Keeps the configuration's `keptWeights` largest weights of each row of `ease` (ties by the
    /// lower column). Rows are pruned on two threads, each row on its own, so the result does not
    /// depend on how they are shared out.
    public init(ease: EASE, bookIDs: [Int], configuration: ItemItemConfiguration) {
        let kept = configuration.keptWeights
        let n = ease.weights.columns
        precondition(bookIDs.count == n)
        let halves = [0..<(n / 2), (n / 2)..<n]
        var pruned = [(counts: [Int], columns: [Int32], weights: [Float])](repeating: ([], [], []), count: halves.count)
        ease.weights.values.withUnsafeBufferPointer { all in
            pruned.withUnsafeMutableBufferPointer { pruned in
                DispatchQueue.concurrentPerform(iterations: halves.count) { half in
                    var counts: [Int] = [], columns: [Int32] = [], weights: [Float] = []
                    var magnitudes = [Float]()
                    magnitudes.reserveCapacity(n)
                    for i in halves[half] {
                        let row = all.baseAddress! + i * n
                        magnitudes.removeAll(keepingCapacity: true)
                        for j in 0..<n where row[j] != 0 { magnitudes.append(abs(row[j])) }
                        let before = columns.count
                        // Everything above the kept-th largest magnitude, then that magnitude's ties by column.
                        let threshold = magnitudes.count > kept ? kthLargest(&magnitudes, kept) : 0
                        var ties = kept - magnitudes.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }
                        for j in 0..<n where row[j] != 0 {
                            let magnitude = abs(row[j])
                            guard magnitude > threshold || (magnitude == threshold && ties > 0) else { continue }
                            if magnitude == threshold { ties -= 1 }
                            columns.append(Int32(j))
                            weights.append(row[j])
                        }
                        counts.append(columns.count - before)
                    }
                    pruned[half] = (counts, columns, weights)
                }
            }
        }
        var offsets = [0]
        for part in pruned { for count in part.counts { offsets.append(offsets.last! + count) } }
        self.init(
            configuration: configuration, bookIDs: bookIDs, offsets: offsets, columns: pruned.flatMap(\.columns),
            weights: pruned.flatMap(\.weights), placements: [:])
    }

    init(configuration: ItemItemConfiguration, bookIDs: [Int], offsets: [Int], columns: [Int32], weights: [Float], placements: [Int: [Placement]]) {
        self.configuration = configuration
        self.bookIDs = bookIDs
        self.offsets = offsets
        self.columns = columns
        self.weights = weights
        self.placements = placements
    }

    /// Records where a book without ratings takes its scores from: its nearest books (positions)
    /// and their similarity weights, times `share`.
    public mutating func place(bookID: Int, nearest neighbours: [Placement], share: Float) {
        placements[bookID] = neighbours.map { Placement(position: $0.position, weight: $0.weight * share) }
    }

    /// The reader's item-item scores of the model's books (`bookIDs` order): Σ_i weight_i·B_i.
    /// `rated` are (position in `bookIDs`, weight) pairs; they are summed in ascending position,
    /// so the result does not depend on the order they come in.
    public func scores(rated: [(position: Int, weight: Float)]) -> [Float] {
        var result = [Float](repeating: 0, count: bookIDs.count)
        for (position, weight) in rated.sorted(by: { $0.position < $1.position }) where weight != 0 {
            for entry in offsets[position]..<offsets[position + 1] { result[Int(columns[entry])] += weight * weights[entry] }
        }
        return result
    }

    /// Rated books of a reader as `scores` wants them: ratings of books the model does not hold
    /// (added later, so without a row of B) carry nothing.
    func rated(_ ratings: [Rating], positions: [Int: Int]) -> [(position: Int, weight: Float)] {
        ratings.compactMap { rating in positions[rating.book].map { ($0, configuration.readerWeight(rating: Float(rating.rating))) } }
    }
}

/// The k-th largest of `values` (1-based), by quickselect, which reorders them: linear time on
/// average, where a sort of each of B's rows would dominate the model step.
func kthLargest(_ values: inout [Float], _ k: Int) -> Float {
    precondition(k >= 1 && k <= values.count)
    var low = 0, high = values.count - 1
    let target = k - 1
    while low < high {
        let pivot = values[(low + high) / 2]
        var i = low, j = high
        while i <= j {
            while values[i] > pivot { i += 1 }
            while values[j] < pivot { j -= 1 }
            if i <= j {
                values.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if target <= j { high = j } else if target >= i { low = i } else { return values[target] }
    }
    return values[target]
}

extension ItemItemWeights {
    /// A compact little-endian encoding for the store: counts, ids, CSR arrays, placements.
    public func serialized() -> Data {
        var data = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        func append(_ value: Float) { append(value.bitPattern) }
        append(UInt32(1))  // format version
        let settings = (try? JSONEncoder().encode(configuration)) ?? Data()
        append(Int64(settings.count))
        data.append(settings)
        append(Int64(bookIDs.count))
        append(Int64(columns.count))
        for id in bookIDs { append(Int64(id)) }
        for offset in offsets { append(Int64(offset)) }
        columns.map(\.littleEndian).withUnsafeBytes { data.append(contentsOf: $0) }
        weights.map(\.bitPattern.littleEndian).withUnsafeBytes { data.append(contentsOf: $0) }
        append(Int64(placements.count))
        for (id, neighbours) in placements.sorted(by: { $0.key < $1.key }) {
            append(Int64(id))
            append(Int32(neighbours.count))
            for neighbour in neighbours {
                append(neighbour.position)
                append(neighbour.weight)
            }
        }
        return data
    }

    public init(serialized data: Data) throws {
        var cursor = data.startIndex
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let size = MemoryLayout<T>.size
            guard data.endIndex - cursor >= size else { throw ItemItemFormatError("item-item weights end after \(cursor - data.startIndex) bytes") }
            var value = T.zero
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: data[cursor..<(cursor + size)]) }
            cursor += size
            return T(littleEndian: value)
        }
        /// `count` values in one copy: the weights are ten million entries.
        func readArray<T: FixedWidthInteger>(_: T.Type, count: Int) throws -> [T] {
            let size = MemoryLayout<T>.size * count
            guard data.endIndex - cursor >= size else { throw ItemItemFormatError("item-item weights end after \(cursor - data.startIndex) bytes") }
            let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                _ = data[cursor..<(cursor + size)].copyBytes(to: buffer)
                initialized = count
            }
            cursor += size
            return values.map { T(littleEndian: $0) }
        }
        func readCount(_ what: String) throws -> Int {
            let count = try read(Int64.self)
            guard count >= 0, count <= Int64(data.count) else { throw ItemItemFormatError("item-item weights: \(what) count \(count) is out of range") }
            return Int(count)
        }
        guard try read(UInt32.self) == 1 else { throw ItemItemFormatError("item-item weights: unknown format version") }
        let settingsSize = try readCount("configuration byte")
        guard data.endIndex - cursor >= settingsSize else { throw ItemItemFormatError("item-item weights end inside their configuration") }
        let settings = data[cursor..<(cursor + settingsSize)]
        cursor += settingsSize
        let configuration: ItemItemConfiguration
        do { configuration = try JSONDecoder().decode(ItemItemConfiguration.self, from: settings) } catch {
            throw ItemItemFormatError("item-item weights: the configuration does not decode: \(error)")
        }
        let books = try readCount("book"), entries = try readCount("entry")
        let bookIDs = try readArray(Int64.self, count: books).map { Int($0) }
        let offsets = try readArray(Int64.self, count: books + 1).map { Int($0) }
        guard offsets.first == 0, offsets.last == entries, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw ItemItemFormatError("item-item weights: row offsets are not increasing from 0 to \(entries)")
        }
        let columns = try readArray(Int32.self, count: entries)
        guard columns.allSatisfy({ $0 >= 0 && Int($0) < books }) else { throw ItemItemFormatError("item-item weights: a column is out of range") }
        let weights = try readArray(UInt32.self, count: entries).map(Float.init(bitPattern:))
        var placements: [Int: [Placement]] = [:]
        for _ in 0..<(try readCount("placement")) {
            let id = Int(try read(Int64.self))
            let count = try read(Int32.self)
            guard count >= 0 else { throw ItemItemFormatError("item-item weights: book \(id) has a negative neighbour count") }
            placements[id] = try (0..<Int(count)).map { _ in
                let position = try read(Int32.self)
                guard position >= 0 && Int(position) < books else { throw ItemItemFormatError("item-item weights: book \(id) has a neighbour out of range") }
                return Placement(position: position, weight: Float(bitPattern: try read(UInt32.self)))
            }
        }
        self.init(configuration: configuration, bookIDs: bookIDs, offsets: offsets, columns: columns, weights: weights, placements: placements)
    }
}

public struct ItemItemFormatError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The item-item term of the logits of a list of books (a Scorer's columns, in its order).
public struct ItemItemTerm: Sendable {
    public private(set) var weights: ItemItemWeights
    let positions: [Int: Int]
    let sources: [Source]

    enum Source: Sendable {
        case own(Int)
        case placed([ItemItemWeights.Placement])
        case none
    }

    public init(weights: ItemItemWeights, columns bookIDs: [Int]) {
        self.weights = weights
        let positions = Dictionary(uniqueKeysWithValues: weights.bookIDs.enumerated().map { ($1, $0) })
        self.positions = positions
        sources = bookIDs.map { id in
            if let placement = weights.placements[id] { return .placed(placement) }
            return positions[id].map { .own($0) } ?? .none
        }
    }

    /// The same term with another `scale`.
    public func rescaled(_ scale: Float) -> ItemItemTerm {
        var copy = self
        copy.weights.configuration.scale = scale
        return copy
    }

    /// Adds `scale` × the reader's item-item score of each column to `logits`.
    public func add(ratings: [Rating], to logits: UnsafeMutableBufferPointer<Float>) {
        precondition(logits.count == sources.count)
        let scores = weights.scores(rated: weights.rated(ratings, positions: positions))
        let scale = weights.configuration.scale
        for (column, source) in sources.enumerated() {
            switch source {
            case .own(let position): logits[column] += scale * scores[position]
            case .placed(let neighbours):
                var score: Float = 0
                for neighbour in neighbours { score += neighbour.weight * scores[Int(neighbour.position)] }
                logits[column] += scale * score
            case .none: break
            }
        }
    }
}

import Foundation

/// Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008) in the form and with the
/// regularisation of Rendle et al. 2021 ("Revisiting the performance of iALS on item
/// recommendation benchmarks"):
///
///   L = Σ_{(u,i) rated} (w_u·h_i − 1)² + α₀ Σ_u Σ_i (w_u·h_i)²
///       + λ Σ_u (|I_u| + α₀|I|)^ν ‖w_u‖² + λ Σ_i (|U_i| + α₀|U|)^ν ‖h_i‖²
///
/// Each half-step fixes one side and solves every row of the other on its own:
/// (Σ_{i∈I_u} h_i h_iᵀ + α₀ HᵀH + λ_u I) w_u = Σ_{i∈I_u} h_i, by a few steps of conjugate gradients
/// started from the row's current value (as the `implicit` library does), in blocks of rows whose
/// α₀ HᵀH products are one sgemm.
public struct ImplicitALSConfiguration: Sendable, Equatable, Codable {
    public var factors = 128
    /// α₀: the weight of every unobserved reader–book pair.
    public var unobservedWeight: Float = 0.05
    /// λ.
    public var regularization: Float = 0.01
    /// ν: how the regularisation of a row grows with its number of ratings.
    public var regularizationExponent: Float = 1
    public var epochs = 12
    public var conjugateGradientSteps = 3
    /// Standard deviation of the start, divided by √factors.
    public var initialScale: Float = 0.1
    public var seed: UInt64 = 1

    public init() {}
}

public struct ImplicitALS: Sendable {
    public let configuration: ImplicitALSConfiguration
    /// readers × factors and books × factors; a reader's score of a book is the dot product.
    public private(set) var readerFactors: Matrix
    public private(set) var bookFactors: Matrix

    /// Rows solved together: one sgemm of this many rows by the Gram matrix per CG step.
    public static let blockRows = 256

    /// The side a round of training solves: round r solves the readers when r is even and the
    /// books when it is odd, each against the other side's latest values; 2 × epochs rounds.
    public enum Side: String, Sendable {
        case readers, books
        public init(round: Int) { self = round % 2 == 0 ? .readers : .books }
    }

    /// Solves one round: given its number, the readers' and the books' latest values, returns
    /// the new values of the round's side. The default solves it in this process; the pipeline
    /// runs it as jobs on the workers (`ImplicitALS.solve` is the same for any split of the rows).
    public typealias RoundSolver = (_ round: Int, _ readerFactors: Matrix, _ bookFactors: Matrix) throws -> Matrix

    public init(interactions: Interactions, configuration: ImplicitALSConfiguration, solveRound: RoundSolver? = nil) throws {
        self.configuration = configuration
        (readerFactors, bookFactors) = Self.start(readers: interactions.readers, books: interactions.books, configuration: configuration)
        let solveRound = solveRound ?? Self.inProcess(interactions: interactions, configuration: configuration)
        for round in 0..<(2 * configuration.epochs) {
            let solved = try solveRound(round, readerFactors, bookFactors)
            switch Side(round: round) {
            case .readers: readerFactors = solved
            case .books: bookFactors = solved
            }
        }
    }

    /// Solves each round whole, in this process.
    public static func inProcess(interactions: Interactions, configuration: ImplicitALSConfiguration) -> RoundSolver {
        let readersByBook = interactions.readersByBook()
        return { round, readers, books in
            switch Side(round: round) {
            case .readers:
                return solve(rows: 0..<readers.rows, current: readers, rated: interactions.booksByReader, fixed: books, configuration: configuration)
            case .books:
                return solve(rows: 0..<books.rows, current: books, rated: readersByBook, fixed: readers, configuration: configuration)
            }
        }
    }

    /// The seeded Gaussian start of both sides, readers drawn first.
    public static func start(readers: Int, books: Int, configuration: ImplicitALSConfiguration) -> (readers: Matrix, books: Matrix) {
        var generator = SeededGenerator(seed: configuration.seed)
        let k = configuration.factors
        let scale = configuration.initialScale / Float(k).squareRoot()
        func start(_ rows: Int) -> Matrix {
            Matrix(rows: rows, columns: k, values: (0..<(rows * k)).map { _ in generator.nextGaussian() * scale })
        }
        let readerStart = start(readers)
        return (readerStart, start(books))
    }

    /// α₀ HᵀH for the fixed side H, the part of every row's system that all rows share.
    public static func weightedGram(_ fixed: Matrix, configuration: ImplicitALSConfiguration) -> Matrix {
        var gram = multiply(fixed, transposeA: true, fixed)
        for i in gram.values.indices { gram.values[i] *= configuration.unobservedWeight }
        return gram
    }

    /// One half-step for the rows `rows` of one side: `current` holds their present values
    /// (rows.count × factors), `rated[row]` the other side's rows each one rated, `fixed` the whole
    /// other side. Returns the new values of those rows. Rows are solved on their own, in blocks
    /// of `blockRows` aligned on the row index (row r at position r mod `blockRows`, absent rows
    /// zero), because BLAS kernels round a product's row by its position in the call: any
    /// partition of the rows into calls gives the same values, bit for bit.
    /// `gram` is `weightedGram(fixed)`, for a caller that solves several slices against one side.
    public static func solve(rows: Range<Int>, current: Matrix, rated: [[Int32]], fixed: Matrix, gram: Matrix? = nil,
                             configuration: ImplicitALSConfiguration) -> Matrix {
        precondition(current.rows == rows.count && current.columns == fixed.columns)
        let k = fixed.columns
        let weight = configuration.unobservedWeight
        let gram = gram ?? weightedGram(fixed, configuration: configuration)
        let otherCount = Float(fixed.rows)
        var result = current
        guard !rows.isEmpty else { return result }
        for blockStart in stride(from: rows.lowerBound / blockRows * blockRows, to: rows.upperBound, by: blockRows) {
            let present = max(blockStart, rows.lowerBound)..<min(blockStart + blockRows, rows.upperBound)
            var lists = [[Int32]](repeating: [], count: blockRows)
            var ridge = [Float](repeating: 0, count: blockRows)
            var x = Matrix(rows: blockRows, columns: k)
            for row in present {
                let position = row - blockStart, local = row - rows.lowerBound
                lists[position] = rated[row]
                ridge[position] = configuration.regularization * pow(Float(rated[row].count) + weight * otherCount, configuration.regularizationExponent)
                x.values.replaceSubrange((position * k)..<((position + 1) * k), with: current.values[(local * k)..<((local + 1) * k)])
            }
            conjugateGradient(x: &x, lists: lists, ridge: ridge, gram: gram, fixed: fixed, steps: configuration.conjugateGradientSteps)
            for row in present {
                let position = row - blockStart, local = row - rows.lowerBound
                result.values.replaceSubrange((local * k)..<((local + 1) * k), with: x.values[(position * k)..<((position + 1) * k)])
            }
        }
        return result
    }

    /// The fixed side's rows that each row of a block rated, copied next to one another: every
    /// CG step walks them again, and in this order they come from cache instead of from all over
    /// the other side's matrix.
    private struct RatedFactors {
        let values: [Float]
        /// Row u's factors are values[offsets[u] * k ..< offsets[u + 1] * k].
        let offsets: [Int]

        init(lists: [[Int32]], fixed: Matrix) {
            let k = fixed.columns
            var offsets = [0]
            for list in lists { offsets.append(offsets.last! + list.count) }
            values = [Float](unsafeUninitializedCapacity: offsets.last! * k) { buffer, initialized in
                fixed.values.withUnsafeBufferPointer { h in
                    var position = 0
                    for list in lists {
                        for i in list {
                            (buffer.baseAddress! + position).update(from: h.baseAddress! + Int(i) * k, count: k)
                            position += k
                        }
                    }
                }
                initialized = offsets.last! * k
            }
            self.offsets = offsets
        }
    }

    /// out = A·m for each row u of m: Σ_{i∈I_u} h_i (h_i·m_u) + (α₀HᵀH) m_u + ridge_u m_u.
    private static func apply(_ m: Matrix, rated: RatedFactors, ridge: [Float], gram: Matrix) -> Matrix {
        let k = m.columns
        var out = multiply(m, gram)
        out.values.withUnsafeMutableBufferPointer { out in
            m.values.withUnsafeBufferPointer { m in
                rated.values.withUnsafeBufferPointer { h in
                    for u in 0..<m.count / k {
                        let row = m.baseAddress! + u * k, target = out.baseAddress! + u * k
                        addScaled(target, ridge[u], row, count: k)
                        for entry in rated.offsets[u]..<rated.offsets[u + 1] {
                            let factors = h.baseAddress! + entry * k
                            addScaled(target, dotProduct(factors, row, count: k), factors, count: k)
                        }
                    }
                }
            }
        }
        return out
    }

    private static func conjugateGradient(x: inout Matrix, lists: [[Int32]], ridge: [Float], gram: Matrix, fixed: Matrix, steps: Int) {
        let k = x.columns, rows = x.rows
        let rated = RatedFactors(lists: lists, fixed: fixed)
        // r = b − A x with b_u = Σ_{i∈I_u} h_i; p = r.
        var r = apply(x, rated: rated, ridge: ridge, gram: gram)
        r.values.withUnsafeMutableBufferPointer { r in
            rated.values.withUnsafeBufferPointer { h in
                for u in 0..<rows {
                    let target = r.baseAddress! + u * k
                    for f in 0..<k { target[f] = -target[f] }
                    for entry in rated.offsets[u]..<rated.offsets[u + 1] { addScaled(target, 1, h.baseAddress! + entry * k, count: k) }
                }
            }
        }
        var p = r
        var residual = (0..<rows).map { u in dot(r, u, r, u) }
        for _ in 0..<steps {
            let ap = apply(p, rated: rated, ridge: ridge, gram: gram)
            x.values.withUnsafeMutableBufferPointer { x in
                r.values.withUnsafeMutableBufferPointer { r in
                    p.values.withUnsafeMutableBufferPointer { p in
                        ap.values.withUnsafeBufferPointer { ap in
                            for u in 0..<rows where residual[u] > 0 {
                                let xu = x.baseAddress! + u * k, ru = r.baseAddress! + u * k
                                let pu = p.baseAddress! + u * k, apu = ap.baseAddress! + u * k
                                var curvature: Float = 0
                                for f in 0..<k { curvature += pu[f] * apu[f] }
                                guard curvature > 0 else { continue }
                                let alpha = residual[u] / curvature
                                var next: Float = 0
                                for f in 0..<k {
                                    xu[f] += alpha * pu[f]
                                    ru[f] -= alpha * apu[f]
                                    next += ru[f] * ru[f]
                                }
                                let beta = next / residual[u]
                                for f in 0..<k { pu[f] = ru[f] + beta * pu[f] }
                                residual[u] = next
                            }
                        }
                    }
                }
            }
        }
    }

    private static func dot(_ a: Matrix, _ ra: Int, _ b: Matrix, _ rb: Int) -> Float {
        let k = a.columns
        var sum: Float = 0
        for f in 0..<k { sum += a.values[ra * k + f] * b.values[rb * k + f] }
        return sum
    }
}

import COpenBLAS
import Foundation

/// A dense row-major Float matrix; the unit every encoder, model and scorer trades in.
public struct Matrix: Codable, Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "matrix \(rows)x\(columns) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    private enum CodingKeys: String, CodingKey {
        case rows, columns, values
    }

    /// `values` travels as the base64 of its Float32 bytes (`Array<Float>.blob`): a model's
    /// millions of weights encode and decode in milliseconds instead of as decimal text.
    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try container.decode(Int.self, forKey: .rows)
        let columns = try container.decode(Int.self, forKey: .columns)
        // Stores written before the bytes form hold `values` as a JSON array of numbers.
        let values = try (try? container.decode(Data.self, forKey: .values)).map { [Float](blob: $0) }
            ?? container.decode([Float].self, forKey: .values)
        guard rows >= 0, columns >= 0, values.count == rows * columns else {
            throw DecodingError.dataCorruptedError(
                forKey: .values, in: container, debugDescription: "\(values.count) values for a \(rows)×\(columns) matrix")
        }
        self.init(rows: rows, columns: columns, values: values)
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rows, forKey: .rows)
        try container.encode(columns, forKey: .columns)
        try container.encode(values.blob, forKey: .values)
    }

    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: value, count: rows * columns))
    }

    public init(stacking rowVectors: [[Float]], columns: Int) {
        var values = [Float]()
        values.reserveCapacity(rowVectors.count * columns)
        for row in rowVectors {
            precondition(row.count == columns, "row of \(row.count) values in a matrix of \(columns) columns")
            values.append(contentsOf: row)
        }
        self.init(rows: rowVectors.count, columns: columns, values: values)
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public func row(_ index: Int) -> [Float] {
        Array(values[index * columns..<(index + 1) * columns])
    }

    public mutating func setRow(_ index: Int, _ row: [Float]) {
        precondition(row.count == columns)
        values.replaceSubrange(index * columns..<(index + 1) * columns, with: row)
    }

    /// Every row scaled to unit L2 norm (`normalize`); a zero row stays zero.
    public var rowsNormalized: Matrix {
        var result = self
        for r in 0..<rows {
            var row = self.row(r)
            normalize(&row)
            result.setRow(r, row)
        }
        return result
    }

    public var transposed: Matrix {
        var result = Matrix(rows: columns, columns: rows)
        for r in 0..<rows {
            for c in 0..<columns { result.values[c * rows + r] = values[r * columns + c] }
        }
        return result
    }
}

/// C = alpha · op(A) · op(B) + beta · C through OpenBLAS: the matrix product of the model and the
/// scorer (the encoders call `blas_sgemm` on their own buffers).
public func gemm(
    _ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
    alpha: Float = 1, beta: Float = 0, into c: inout Matrix
) {
    let m = transposeA ? a.columns : a.rows
    let k = transposeA ? a.rows : a.columns
    let n = transposeB ? b.rows : b.columns
    precondition((transposeB ? b.columns : b.rows) == k, "inner dimensions differ: \(k) vs \(transposeB ? b.columns : b.rows)")
    precondition(c.rows == m && c.columns == n, "output is \(c.rows)x\(c.columns), expected \(m)x\(n)")
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in c.values.indices { c.values[i] *= beta }
        return
    }
    a.values.withUnsafeBufferPointer { pa in
        b.values.withUnsafeBufferPointer { pb in
            c.values.withUnsafeMutableBufferPointer { pc in
                blas_sgemm(
                    BLAS_ROW_MAJOR, transposeA ? BLAS_TRANS : BLAS_NO_TRANS, transposeB ? BLAS_TRANS : BLAS_NO_TRANS,
                    Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.columns),
                    pb.baseAddress, Int32(b.columns), beta, pc.baseAddress, Int32(n))
            }
        }
    }
}

/// op(A) · op(B) as a new matrix.
public func multiply(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
    var c = Matrix(rows: transposeA ? a.columns : a.rows, columns: transposeB ? b.rows : b.columns)
    gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
    return c
}

/// Sets OpenBLAS's thread count; bookrec parallelises across processes and jobs, so it defaults to 1.
public func setBLASThreads(_ count: Int) {
    blas_set_threads(Int32(max(1, count)))
}

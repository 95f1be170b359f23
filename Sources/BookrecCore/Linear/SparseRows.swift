/// Rows of a matrix with their zeros left out (compressed sparse rows).
///
/// Hashed text vectors fill a few percent of their buckets and most books have no cover (a zero
/// row), so the model's input projections run over the non-zeros only.
public struct SparseRows: Sendable {
    public let columns: Int
    public private(set) var rowStart: [Int] = [0]
    public private(set) var indices: [Int32] = []
    public private(set) var values: [Float] = []

    public init(_ matrix: Matrix) {
        columns = matrix.columns
        matrix.values.withUnsafeBufferPointer { all in
            for r in 0..<matrix.rows {
                for c in 0..<matrix.columns where all[r * matrix.columns + c] != 0 {
                    indices.append(Int32(c))
                    values.append(all[r * matrix.columns + c])
                }
                rowStart.append(indices.count)
            }
        }
    }

    public var rows: Int { rowStart.count - 1 }

    /// vector += row `row`, densified.
    func add(row: Int, into vector: inout [Float]) {
        for n in rowStart[row]..<rowStart[row + 1] { vector[Int(indices[n])] += values[n] }
    }

    /// out[i] = bias + W · x_rows[i], with W given transposed (columns × d, row-major).
    func project(_ rowIDs: [Int], transposedWeights: [Float], bias: [Float]) -> Matrix {
        let d = bias.count
        var out = Matrix(rows: rowIDs.count, columns: d)
        out.values.withUnsafeMutableBufferPointer { target in
            transposedWeights.withUnsafeBufferPointer { weights in
                indices.withUnsafeBufferPointer { indices in
                    values.withUnsafeBufferPointer { values in
                        for (i, row) in rowIDs.enumerated() {
                            let output = target.baseAddress! + i * d
                            for f in 0..<d { output[f] = bias[f] }
                            for n in rowStart[row]..<rowStart[row + 1] {
                                let column = weights.baseAddress! + Int(indices[n]) * d
                                let x = values[n]
                                for f in 0..<d { output[f] += x * column[f] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// gradient (columns × d, the transposed layout) += Σ_i x_rows[i] ⊗ upstream[i].
    func accumulateOuterProducts(_ rowIDs: [Int], upstream: Matrix, into gradient: inout [Float]) {
        let d = upstream.columns
        gradient.withUnsafeMutableBufferPointer { target in
            upstream.values.withUnsafeBufferPointer { upstream in
                for (i, row) in rowIDs.enumerated() {
                    let g = upstream.baseAddress! + i * d
                    for n in rowStart[row]..<rowStart[row + 1] {
                        let column = target.baseAddress! + Int(indices[n]) * d
                        let x = values[n]
                        for f in 0..<d { column[f] += x * g[f] }
                    }
                }
            }
        }
    }
}

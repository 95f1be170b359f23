import COpenBLAS

/// The orthogonalisation that the model's content start needs (`principalProfileDirections`),
/// computed in Double for stability.

/// Gram–Schmidt on the columns, in Double; a zero column stays zero. (A column that depends on
/// those before it only up to Float rounding comes out as a unit vector orthogonal to them, which
/// keeps the power iterations of the starts at full rank.)
///
/// The content start calls this on 2,048 × 256 matrices, where one column at a time took most of
/// the start. Columns go in blocks of 64: a block is cleared of the blocks before it by two passes
/// of dgemm (classical Gram–Schmidt twice, as accurate as the modified kind), then orthonormalised
/// within itself column by column, also twice.
func orthonormalColumns(_ m: Matrix) -> Matrix {
    let n = m.rows, r = m.columns
    let blockSize = 64
    // Row c of `basis` holds column c, so that every column is contiguous.
    var basis = [Double](repeating: 0, count: r * n)
    for i in 0..<n {
        for c in 0..<r { basis[c * n + i] = Double(m.values[i * r + c]) }
    }
    var overlap = [Double](repeating: 0, count: r * blockSize)
    basis.withUnsafeMutableBufferPointer { basis in
        overlap.withUnsafeMutableBufferPointer { overlap in
            guard let before = basis.baseAddress, let overlap = overlap.baseAddress else { return }
            for blockStart in stride(from: 0, to: r, by: blockSize) {
                let width = min(blockSize, r - blockStart)
                let block = before + blockStart * n
                for _ in 0..<2 where blockStart > 0 {
                    // overlap = earlier · blockᵀ (blockStart × width); block −= overlapᵀ · earlier.
                    blas_dgemm(
                        BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_TRANS, Int32(blockStart), Int32(width), Int32(n),
                        1, before, Int32(n), block, Int32(n), 0, overlap, Int32(width))
                    blas_dgemm(
                        BLAS_ROW_MAJOR, BLAS_TRANS, BLAS_NO_TRANS, Int32(width), Int32(n), Int32(blockStart),
                        -1, overlap, Int32(width), before, Int32(n), 1, block, Int32(n))
                }
                for c in 0..<width {
                    let column = block + c * n
                    for _ in 0..<2 {
                        for previous in 0..<c {
                            let other = block + previous * n
                            var dot = 0.0
                            for i in 0..<n { dot += column[i] * other[i] }
                            for i in 0..<n { column[i] -= dot * other[i] }
                        }
                    }
                    var norm = 0.0
                    for i in 0..<n { norm += column[i] * column[i] }
                    norm = norm.squareRoot()
                    for i in 0..<n { column[i] = norm > 1e-12 ? column[i] / norm : 0 }
                }
            }
        }
    }
    var out = Matrix(rows: n, columns: r)
    for c in 0..<r {
        for i in 0..<n { out.values[i * r + c] = Float(basis[c * n + i]) }
    }
    return out
}

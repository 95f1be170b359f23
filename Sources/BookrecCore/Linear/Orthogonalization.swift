/// The small dense factorisations that the model's starts need (`cooccurrenceFactors`,
/// `principalProfileDirections`), computed in Double for stability.

/// Modified Gram–Schmidt on the columns, in Double; a column that vanishes stays zero.
func orthonormalColumns(_ m: Matrix) -> Matrix {
    let n = m.rows, r = m.columns
    var columns = (0..<r).map { c in (0..<n).map { Double(m.values[$0 * r + c]) } }
    for c in 0..<r {
        for previous in 0..<c {
            var dot = 0.0
            for i in 0..<n { dot += columns[c][i] * columns[previous][i] }
            for i in 0..<n { columns[c][i] -= dot * columns[previous][i] }
        }
        let norm = columns[c].reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in 0..<n { columns[c][i] = norm > 1e-12 ? columns[c][i] / norm : 0 }
    }
    var out = Matrix(rows: n, columns: r)
    for c in 0..<r {
        for i in 0..<n { out.values[i * r + c] = Float(columns[c][i]) }
    }
    return out
}

/// L with L Lᵀ = G for a symmetric positive semi-definite G (a tiny ridge keeps it definite).
func choleskyFactor(_ g: Matrix) -> Matrix {
    let n = g.rows
    var trace = 0.0
    for i in 0..<n { trace += Double(g[i, i]) }
    let ridge = 1e-9 * max(trace, 1e-30)
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var sum = Double(g[i, j]) + (i == j ? ridge : 0)
            for m in 0..<j { sum -= l[i * n + m] * l[j * n + m] }
            l[i * n + j] = i == j ? max(sum, 0).squareRoot() : (l[j * n + j] > 0 ? sum / l[j * n + j] : 0)
        }
    }
    return Matrix(rows: n, columns: n, values: l.map(Float.init))
}

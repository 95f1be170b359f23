/// Item factors E (books × r) whose dot products approximate item-kNN's cosine similarity
/// of co-rating, cos(a, b) = |R_a ∩ R_b| / √(|R_a| |R_b|), at rank r.
///
/// With A the readers × books rating indicator scaled by 1/√|R_b| per book, the similarity matrix
/// is AᵀA; a randomised range finder (power iterations on AᵀA, which only touch the ratings)
/// gives an orthonormal Q spanning its top r directions, and with Qᵀ AᵀA Q = L Lᵀ,
/// E = Q L satisfies E Eᵀ = Q Qᵀ AᵀA Q Qᵀ ≈ AᵀA. A reader whose vector is the sum of their books'
/// rows of E then ranks books as item-kNN with every neighbour would.
func cooccurrenceFactors(_ interactions: Interactions, rank r: Int, iterations: Int = 4, generator: inout SeededGenerator) -> Matrix {
    let counts = interactions.ratingCounts()
    let weight = counts.map { $0 > 0 ? 1 / Float($0).squareRoot() : 0 }
    func timesA(_ x: Matrix) -> Matrix {  // books × r → readers × r
        var out = Matrix(rows: interactions.readers, columns: r)
        for i in 0..<interactions.count {
            let u = Int(interactions.reader[i]), b = Int(interactions.book[i])
            for f in 0..<r { out.values[u * r + f] += weight[b] * x.values[b * r + f] }
        }
        return out
    }
    func timesATransposed(_ y: Matrix) -> Matrix {  // readers × r → books × r
        var out = Matrix(rows: interactions.books, columns: r)
        for i in 0..<interactions.count {
            let u = Int(interactions.reader[i]), b = Int(interactions.book[i])
            for f in 0..<r { out.values[b * r + f] += weight[b] * y.values[u * r + f] }
        }
        return out
    }
    var q = Matrix(rows: interactions.books, columns: r, values: (0..<(interactions.books * r)).map { _ in generator.nextGaussian() })
    for _ in 0..<iterations { q = orthonormalColumns(timesATransposed(timesA(q))) }
    let projected = timesA(q)
    var gram = Matrix(rows: r, columns: r)
    gemm(projected, transposeA: true, projected, into: &gram)
    return multiply(q, choleskyFactor(gram))
}

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

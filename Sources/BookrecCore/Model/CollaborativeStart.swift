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

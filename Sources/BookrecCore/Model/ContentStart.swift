/// The m directions of text space along which readers' profiles vary most, as the rows of an
/// m × D_t matrix G, scaled so that a book's projection G t has mean squared norm 1 (as the
/// Johnson–Lindenstrauss projection it replaces had).
///
/// A reader's profile u is the normalised mean text of the books they liked; the content-only
/// profile ranks by u · t. Projecting both onto the top-m eigenvectors of C = Σ_u u uᵀ keeps most
/// of every profile (the residual energy Σ_u ‖(I − GᵀG)u‖² is the least any m directions leave),
/// where a random projection spreads an error of about ‖u‖‖t‖/√m over every score. Subspace
/// iteration on C finds them; C is built with sgemm over chunks of densified profiles.
func principalProfileDirections(
    text: SparseRows, likedBooks: [[Int]], rank m: Int, iterations: Int = 8, generator: inout SeededGenerator
) -> Matrix {
    let dimension = text.columns
    var covariance = Matrix(rows: dimension, columns: dimension)
    let chunkSize = 1024
    for chunkStart in stride(from: 0, to: likedBooks.count, by: chunkSize) {
        let readers = likedBooks[chunkStart..<min(chunkStart + chunkSize, likedBooks.count)]
        var profiles = Matrix(rows: readers.count, columns: dimension)
        for (row, books) in readers.enumerated() {
            var profile = [Float](repeating: 0, count: dimension)
            for book in books { text.add(row: book, into: &profile) }
            normalize(&profile)
            profiles.setRow(row, profile)
        }
        gemm(profiles, transposeA: true, profiles, beta: 1, into: &covariance)
    }
    var basis = Matrix(rows: dimension, columns: m, values: (0..<(dimension * m)).map { _ in generator.nextGaussian() })
    for _ in 0..<iterations { basis = orthonormalColumns(multiply(covariance, basis)) }
    var directions = basis.transposed
    let projected = text.project(Array(0..<text.rows), transposedWeights: basis.values, bias: [Float](repeating: 0, count: m))
    let meanSquaredNorm = projected.values.reduce(0) { $0 + $1 * $1 } / Float(max(text.rows, 1))
    let scale = meanSquaredNorm > 0 ? 1 / meanSquaredNorm.squareRoot() : 1
    for i in directions.values.indices { directions.values[i] *= scale }
    return directions
}

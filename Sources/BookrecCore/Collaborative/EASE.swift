/// EASE^R (Steck, 2019): the item-item weights B = I − P·diag(1/diag(P)) with
/// P = (XᵀX + λI)⁻¹ for the binary reader × book matrix X, so that a reader's score of book j is
/// Σ_{i rated} B_ij. The closed-form solution of min ‖X − XB‖² + λ‖B‖² with diag(B) = 0.
public struct EASE: Sendable {
    /// books × books; row i holds the weights book i gives every other book; the diagonal is 0.
    public let weights: Matrix

    public init(interactions: Interactions, regularization: Float, content: Matrix? = nil, contentWeight: Float = 0) throws {
        let n = interactions.books
        var gram = Matrix(rows: n, columns: n)
        if let content, contentWeight > 0 {
            gemm(content, content, transposeB: true, alpha: contentWeight, into: &gram)
        }
        gram.values.withUnsafeMutableBufferPointer { g in
            for list in interactions.booksByReader {
                for a in list {
                    let row = Int(a) * n
                    for b in list { g[row + Int(b)] += 1 }
                }
            }
            for i in 0..<n { g[i * n + i] += regularization }
        }
        try invertSymmetricPositiveDefinite(&gram)
        gram.values.withUnsafeMutableBufferPointer { p in
            let diagonal = (0..<n).map { p[$0 * n + $0] }
            for i in 0..<n {
                for j in 0..<n { p[i * n + j] = i == j ? 0 : -p[i * n + j] / diagonal[j] }
            }
        }
        weights = gram
    }
}

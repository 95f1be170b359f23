import COpenBLAS

public struct NotPositiveDefinite: Error, CustomStringConvertible {
    public let order: Int
    public var description: String { "the \(order)×\(order) matrix is not positive definite" }
}

/// Replaces a symmetric positive definite matrix by its inverse (LAPACK's Cholesky, spotrf and
/// spotri, on OpenBLAS), filling both triangles.
public func invertSymmetricPositiveDefinite(_ matrix: inout Matrix) throws {
    precondition(matrix.rows == matrix.columns, "a \(matrix.rows)×\(matrix.columns) matrix has no inverse")
    let n = matrix.rows
    if n == 0 { return }
    // Row-major storage is the transpose in column-major terms: LAPACK's lower triangle is the
    // upper triangle here, which the loop below mirrors.
    let info = matrix.values.withUnsafeMutableBufferPointer { a -> Int32 in
        let factored = lapack_spotrf(CChar(UInt8(ascii: "L")), Int32(n), a.baseAddress, Int32(n))
        return factored != 0 ? factored : lapack_spotri(CChar(UInt8(ascii: "L")), Int32(n), a.baseAddress, Int32(n))
    }
    guard info == 0 else { throw NotPositiveDefinite(order: n) }
    matrix.values.withUnsafeMutableBufferPointer { a in
        for row in 1..<n {
            for column in 0..<row { a[row * n + column] = a[column * n + row] }
        }
    }
}

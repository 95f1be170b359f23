/// The encoder outputs for a list of books, row i belonging to book i.
/// A book without a cover has a zero cover row (v = 0: the fusion then attends over the text alone).
public struct BookFeatures: Sendable {
    public let text: SparseRows
    public let cover: SparseRows

    public init(text: Matrix, cover: Matrix) {
        precondition(text.rows == cover.rows, "text and cover features list different numbers of books")
        self.text = SparseRows(text)
        self.cover = SparseRows(cover)
    }

    public var count: Int { text.rows }
}

extension Matrix {
    public func gathering(rows indices: [Int]) -> Matrix {
        var result = Matrix(rows: indices.count, columns: columns)
        values.withUnsafeBufferPointer { source in
            result.values.withUnsafeMutableBufferPointer { target in
                for (r, index) in indices.enumerated() {
                    let from = source.baseAddress! + index * columns
                    (target.baseAddress! + r * columns).update(from: from, count: columns)
                }
            }
        }
        return result
    }
}

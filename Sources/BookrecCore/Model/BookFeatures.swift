/// The encoder outputs for a list of books, row i belonging to book i.
/// A book without a cover has a zero cover row (SPEC: v = 0 is allowed).
public struct BookFeatures: Sendable {
    public var text: Matrix
    public var cover: Matrix

    public init(text: Matrix, cover: Matrix) {
        precondition(text.rows == cover.rows, "text and cover features list different numbers of books")
        self.text = text
        self.cover = cover
    }

    public var count: Int { text.rows }

    public func rows(_ indices: [Int]) -> BookFeatures {
        BookFeatures(text: text.gathering(rows: indices), cover: cover.gathering(rows: indices))
    }
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

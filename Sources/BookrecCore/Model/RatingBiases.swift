/// The bias model r ≈ μ + b_u + b_b, fitted by alternating regularised means: the baseline of
/// rating prediction and the start of the rating objective's biases.
public struct RatingBiases: Sendable {
    public let mean: Float
    public let reader: [Float]
    public let book: [Float]

    /// The ridge on each bias, in ratings: a book with 5 ratings keeps half of its mean residual.
    public static let defaultRegularization: Float = 5

    public init(_ ix: Interactions, regularization: Float = defaultRegularization, iterations: Int = 10) {
        let mean = ix.rating.reduce(0, +) / Float(max(ix.count, 1))
        var readerBias = [Float](repeating: 0, count: ix.readers)
        var bookBias = [Float](repeating: 0, count: ix.books)
        for _ in 0..<iterations {
            var sums = [Float](repeating: 0, count: ix.books), counts = [Float](repeating: 0, count: ix.books)
            for i in 0..<ix.count {
                sums[Int(ix.book[i])] += ix.rating[i] - mean - readerBias[Int(ix.reader[i])]
                counts[Int(ix.book[i])] += 1
            }
            for b in 0..<ix.books { bookBias[b] = sums[b] / (counts[b] + regularization) }
            var readerSums = [Float](repeating: 0, count: ix.readers), readerCounts = [Float](repeating: 0, count: ix.readers)
            for i in 0..<ix.count {
                readerSums[Int(ix.reader[i])] += ix.rating[i] - mean - bookBias[Int(ix.book[i])]
                readerCounts[Int(ix.reader[i])] += 1
            }
            for u in 0..<ix.readers { readerBias[u] = readerSums[u] / (readerCounts[u] + regularization) }
        }
        self.mean = mean
        reader = readerBias
        book = bookBias
    }

    public func predictedRating(reader u: Int, book b: Int) -> Float {
        min(max(mean + reader[u] + book[b], 1), 5)
    }
}

extension ItemSide {
    /// Neighbours a book without ratings takes its collaborative factors from.
    public static let placementNeighbours = 10

    /// Places books the model has no ratings for by their nearest books by content. Each row in
    /// `rows` gets, in its collaborative factors (from `contentFactors` on), the similarity-weighted
    /// mean of the collaborative factors of its `placementNeighbours` nearest rows of `source`
    /// among `candidates`, nearness being the cosine of the content factors: P's projection of
    /// the co-attention fusion h_b, the content path. A reader's collaborative score of the book
    /// is then the weighted mean of their scores of those neighbours (a content→collaborative
    /// placement, as CB2CF does), added to the score its own content gives. Ties break by row.
    public mutating func placeByContent(_ rows: [Int], neighbours source: ItemSide, among candidates: [Int], contentFactors m: Int) {
        let k = vectors.columns
        guard !rows.isEmpty, !candidates.isEmpty, m < k, source.vectors.columns == k else { return }
        func contentFactors(_ side: ItemSide, _ indices: [Int]) -> Matrix {
            Matrix(stacking: indices.map { Array(side.vectors.values[($0 * k)..<($0 * k + m)]) }, columns: m)
        }
        let similarities = multiply(contentFactors(self, rows).rowsNormalized, contentFactors(source, candidates).rowsNormalized, transposeB: true)
        for (i, row) in rows.enumerated() {
            for (column, weight) in similarityWeightedNeighbours(similarities, row: i, count: Self.placementNeighbours) {
                let candidate = candidates[column]
                for f in m..<k { vectors.values[row * k + f] += weight * source.vectors.values[candidate * k + f] }
            }
        }
    }
}

/// The `count` columns of row `row` of `similarities` with the highest positive similarity (ties
/// by the lower column), each with its similarity divided by their sum: the neighbours a book
/// without ratings is placed by, and their weights.
public func similarityWeightedNeighbours(_ similarities: Matrix, row: Int, count: Int) -> [(column: Int, weight: Float)] {
    var nearest: [(column: Int, similarity: Float)] = []
    for column in 0..<similarities.columns where similarities[row, column] > 0 {
        nearest.append((column, similarities[row, column]))
    }
    nearest.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.column < $1.column }
    nearest = Array(nearest.prefix(count))
    let total = nearest.reduce(Float(0)) { $0 + $1.similarity }
    return nearest.map { ($0.column, $0.similarity / total) }
}

extension ModelParameters {
    /// q_b and book terms of every book for scoring: books with ratings (`ratingCounts[b] > 0`)
    /// with their collaborative residual, the others placed by content (`placeByContent`).
    public func scoringSide(_ features: BookFeatures, configuration: ModelConfiguration, ratingCounts: [Int]) -> ItemSide {
        guard configuration.collaborativeResidual else {
            return itemSide(features, modalities: configuration.modalities, residualRows: [Int?](repeating: nil, count: features.count))
        }
        var side = itemSide(features, modalities: configuration.modalities, residualRows: ratingCounts.indices.map { ratingCounts[$0] > 0 ? $0 : nil })
        let rated = ratingCounts.indices.filter { ratingCounts[$0] > 0 }
        let unrated = ratingCounts.indices.filter { ratingCounts[$0] == 0 }
        side.placeByContent(unrated, neighbours: side, among: rated, contentFactors: residualOffset)
        return side
    }
}

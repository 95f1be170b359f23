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
    /// Returns each row's neighbours (rows of `source`) and weights, which place its item-item
    /// scores the same way.
    @discardableResult
    public mutating func placeByContent(_ rows: [Int], neighbours source: ItemSide, among candidates: [Int], contentFactors m: Int) -> [[(row: Int, weight: Float)]] {
        let k = vectors.columns
        guard !rows.isEmpty, !candidates.isEmpty, m < k, source.vectors.columns == k else { return rows.map { _ in [] } }
        let similarities = multiply(
            normalizedContentFactors(m).gathering(rows: rows), source.normalizedContentFactors(m).gathering(rows: candidates), transposeB: true)
        return rows.enumerated().map { i, row in
            similarityWeightedNeighbours(similarities, row: i, count: Self.placementNeighbours).map { column, weight in
                let candidate = candidates[column]
                for f in m..<k { vectors.values[row * k + f] += weight * source.vectors.values[candidate * k + f] }
                return (candidate, weight)
            }
        }
    }

    /// The content factors of every row, L2-normalised: what nearness by content means.
    public func normalizedContentFactors(_ m: Int) -> Matrix {
        let k = vectors.columns
        return Matrix(stacking: (0..<vectors.rows).map { Array(vectors.values[($0 * k)..<($0 * k + m)]) }, columns: m).rowsNormalized
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

/// What scores a model's books: q_b and the book terms, and the item-item weights.
public struct ScoringModel: Sendable {
    public var side: ItemSide
    public var itemItem: ItemItemWeights?
}

extension ModelParameters {
    /// q_b, book terms and item-item weights of every book for scoring: books with ratings
    /// (`ratingCounts[b] > 0`) with their collaborative residual and their own row of B, the
    /// others placed by content (`placeByContent`) in both.
    public func scoringModel(_ features: BookFeatures, configuration: ModelConfiguration, interactions: Interactions, bookIDs: [Int]) throws -> ScoringModel {
        let ratingCounts = interactions.ratingCounts()
        guard configuration.collaborativeResidual && configuration.personalised else {
            return ScoringModel(side: itemSide(features, modalities: configuration.modalities, residualRows: [Int?](repeating: nil, count: features.count)))
        }
        var side = itemSide(features, modalities: configuration.modalities, residualRows: ratingCounts.indices.map { ratingCounts[$0] > 0 ? $0 : nil })
        let rated = ratingCounts.indices.filter { ratingCounts[$0] > 0 }
        let unrated = ratingCounts.indices.filter { ratingCounts[$0] == 0 }
        var itemItem = try configuration.itemItem.map { itemItem in
            let ease = try EASE(
                interactions: interactions, regularization: itemItem.regularization,
                content: side.normalizedContentFactors(residualOffset), contentWeight: itemItem.contentWeight)
            return ItemItemWeights(ease: ease, bookIDs: bookIDs, configuration: itemItem)
        }
        let placements = side.placeByContent(unrated, neighbours: side, among: rated, contentFactors: residualOffset)
        let share = configuration.itemItem?.unratedShare ?? 1
        for (book, neighbours) in zip(unrated, placements) {
            itemItem?.place(bookID: bookIDs[book], nearest: neighbours.map { .init(position: Int32($0.row), weight: $0.weight) }, share: share)
        }
        return ScoringModel(side: side, itemItem: itemItem)
    }
}

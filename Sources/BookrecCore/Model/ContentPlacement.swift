/// How a book without ratings is placed by the rated books nearest to it by content. The
/// defaults were the best of 10–200 neighbours and μ 0.03–3 on cold validation (docs/EVALUATION.md).
public struct ContentPlacement: Equatable, Sendable {
    /// Rated books it takes its collaborative factors and item-item scores from.
    public var neighbours = 100
    /// μ of the kernel ridge regression that weighs them (`ridgeWeightedNeighbours`).
    public var ridge: Float = 0.3

    public init() {}
}

/// The rated books that books without ratings are placed by: rows `candidates` of `source`, with
/// their L2-normalised content factors computed once, however many books are then placed.
public struct ContentNeighbours {
    let source: ItemSide
    let candidates: [Int]
    let factors: Matrix

    public init(_ source: ItemSide, among candidates: [Int], contentFactors m: Int) {
        self.source = source
        self.candidates = candidates
        factors = m < source.vectors.columns ? source.normalizedContentFactors(m).gathering(rows: candidates) : Matrix(rows: 0, columns: 0)
    }
}

extension ItemSide {
    /// Places books the model has no ratings for by their nearest books by content. Each row in
    /// `rows` gets, in its collaborative factors (from `contentFactors` on), a weighted sum of the
    /// collaborative factors of its `placement.neighbours` nearest rated books (`neighbours`),
    /// nearness being the cosine of the content factors: P's projection of the
    /// co-attention fusion h_b, the content path. The weights are those of the kernel ridge
    /// regression of its content factors on theirs (`ridgeWeightedNeighbours`). A reader's
    /// collaborative score of the book is then the same weighted sum of their scores of those
    /// neighbours (a content→collaborative placement, as CB2CF does), added to the score its own
    /// content gives. Ties break by row. Returns each row's neighbours (rows of `source`) and
    /// weights, which place its item-item scores the same way.
    @discardableResult
    public mutating func placeByContent(
        _ rows: [Int], neighbours: ContentNeighbours, contentFactors m: Int, placement: ContentPlacement = ContentPlacement()
    ) -> [[(row: Int, weight: Float)]] {
        let k = vectors.columns
        let (source, candidates, candidateFactors) = (neighbours.source, neighbours.candidates, neighbours.factors)
        guard !rows.isEmpty, !candidates.isEmpty, m < k, source.vectors.columns == k else { return rows.map { _ in [] } }
        let similarities = multiply(normalizedContentFactors(m).gathering(rows: rows), candidateFactors, transposeB: true)
        return rows.enumerated().map { i, row in
            ridgeWeightedNeighbours(similarities, row: i, factors: candidateFactors, count: placement.neighbours, ridge: placement.ridge).map { column, weight in
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

/// The `count` columns of row `row` of `similarities` with the highest positive similarity, ties
/// by the lower column.
func nearestColumns(_ similarities: Matrix, row: Int, count: Int) -> [(column: Int, similarity: Float)] {
    var nearest: [(column: Int, similarity: Float)] = []
    for column in 0..<similarities.columns where similarities[row, column] > 0 {
        nearest.append((column, similarities[row, column]))
    }
    nearest.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.column < $1.column }
    return Array(nearest.prefix(count))
}

/// The nearest columns of row `row` of `similarities` (`nearestColumns`), each with its
/// similarity divided by their sum: the content→collaborative baseline's neighbours and weights.
public func similarityWeightedNeighbours(_ similarities: Matrix, row: Int, count: Int) -> [(column: Int, weight: Float)] {
    let nearest = nearestColumns(similarities, row: row, count: count)
    let total = nearest.reduce(Float(0)) { $0 + $1.similarity }
    return nearest.map { ($0.column, $0.similarity / total) }
}

/// The nearest columns of row `row` of `similarities` (`nearestColumns`), weighted by kernel
/// ridge regression of the book's content on theirs: w = (F_N F_Nᵀ + μI)⁻¹ s_N, where F_N are the
/// neighbours' rows of `factors` (unit vectors, so F_N F_Nᵀ holds their cosines) and s_N their
/// similarities to the book. Neighbours that repeat one another (editions, boxed sets of the
/// same series) share a weight instead of each counting in full, and a book whose neighbours are
/// far from it gets small weights overall. Weights may be negative and need not sum to 1.
public func ridgeWeightedNeighbours(_ similarities: Matrix, row: Int, factors: Matrix, count: Int, ridge: Float) -> [(column: Int, weight: Float)] {
    precondition(ridge > 0, "the ridge keeps the neighbours' Gram matrix positive definite")
    let nearest = nearestColumns(similarities, row: row, count: count)
    guard !nearest.isEmpty else { return [] }
    let neighbours = factors.gathering(rows: nearest.map(\.column))
    var gram = multiply(neighbours, neighbours, transposeB: true)
    for i in 0..<nearest.count { gram[i, i] += ridge }
    // FFᵀ + μI with μ > 0 is positive definite: the inverse exists.
    try! invertSymmetricPositiveDefinite(&gram)
    return nearest.indices.map { i in
        var weight: Float = 0
        for j in nearest.indices { weight += gram[i, j] * nearest[j].similarity }
        return (nearest[i].column, weight)
    }
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
    public func scoringModel(
        _ features: BookFeatures, configuration: ModelConfiguration, interactions: Interactions, bookIDs: [Int],
        placement: ContentPlacement = ContentPlacement()
    ) throws -> ScoringModel {
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
        let placements = side.placeByContent(
            unrated, neighbours: ContentNeighbours(side, among: rated, contentFactors: residualOffset), contentFactors: residualOffset,
            placement: placement)
        let share = configuration.itemItem?.unratedShare ?? 1
        for (book, neighbours) in zip(unrated, placements) {
            itemItem?.place(bookID: bookIDs[book], nearest: neighbours.map { .init(position: Int32($0.row), weight: $0.weight) }, share: share)
        }
        return ScoringModel(side: side, itemItem: itemItem)
    }
}

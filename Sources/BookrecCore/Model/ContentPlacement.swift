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
        func unitContent(_ side: ItemSide, _ indices: [Int]) -> Matrix {
            var result = Matrix(rows: indices.count, columns: m)
            for (i, row) in indices.enumerated() {
                var content = Array(side.vectors.values[(row * k)..<(row * k + m)])
                normalize(&content)
                result.setRow(i, content)
            }
            return result
        }
        let similarities = multiply(unitContent(self, rows), unitContent(source, candidates), transposeB: true)
        for (i, row) in rows.enumerated() {
            var nearest: [(candidate: Int, similarity: Float)] = []
            for (j, candidate) in candidates.enumerated() where similarities[i, j] > 0 {
                nearest.append((candidate, similarities[i, j]))
            }
            nearest.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.candidate < $1.candidate }
            nearest = Array(nearest.prefix(Self.placementNeighbours))
            let total = nearest.reduce(Float(0)) { $0 + $1.similarity }
            guard total > 0 else { continue }
            for (candidate, similarity) in nearest {
                let weight = similarity / total
                for f in m..<k { vectors.values[row * k + f] += weight * source.vectors.values[candidate * k + f] }
            }
        }
    }
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

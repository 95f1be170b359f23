import BookrecCore

/// The cold protocol on vectors a pipeline generation stored (docs/EVALUATION.md, "through
/// add-books"): a run without the split's cold books, then `add-books` of them, then this. Each
/// reader who rated a cold book ≥ 4 and has a vector ranks the cold books by
/// p_u·q_b + term_b plus the item-item term of their `ratings` when the generation has one (β_u
/// does not change a reader's order), ties by book id.
public func coldMetrics(
    split: EvaluationSplit, readerVectors: [Int: [Float]], bookVectors: [Int: (vector: [Float], term: Float)],
    itemItem: ItemItemWeights? = nil, ratings: [Int: [Rating]] = [:]
) -> (metrics: ColdMetrics, readers: Int, books: Int) {
    let coldIDs = split.coldBooks.filter { bookVectors[$0] != nil }.sorted()
    let position = Dictionary(uniqueKeysWithValues: coldIDs.enumerated().map { ($1, $0) })
    var relevant: [Int: Set<Int>] = [:]
    for rating in split.coldTest where rating.rating >= 4 {
        guard readerVectors[rating.user] != nil, let book = position[rating.book] else { continue }
        relevant[rating.user, default: []].insert(book)
    }
    let readers = relevant.keys.sorted()
    var metrics = ColdMetrics()
    guard let factors = readers.first.map({ readerVectors[$0]!.count }) else { return (metrics, 0, coldIDs.count) }
    let scorer = Scorer(
        side: ItemSide(vectors: coldIDs.map { bookVectors[$0]!.vector }, bookTerms: coldIDs.map { bookVectors[$0]!.term }), bookIDs: coldIDs)
    let lists = scorer.topK(
        readers: Matrix(stacking: readers.map { readerVectors[$0]! }, columns: factors),
        readerBias: [Float](repeating: 0, count: readers.count), slots: readers, excluded: [[Int32]](repeating: [], count: readers.count), k: 10,
        adding: itemItem.map { ItemItemTerm(weights: $0, columns: coldIDs) }.map { term in { r, logits in term.add(ratings: ratings[readers[r]] ?? [], to: logits) } })
    for (reader, list) in zip(readers, lists) { metrics.add(list.map(\.book), relevant: relevant[reader]!) }
    return (metrics.averaged(over: readers.count), readers.count, coldIDs.count)
}

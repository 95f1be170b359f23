import BookrecCore

/// The cold protocol on vectors a pipeline generation stored (docs/EVALUATION.md, "through
/// add-books"): a run without the split's cold books, then `add-books` of them, then this. Each
/// reader who rated a cold book ≥ 4 and has a vector ranks the cold books by
/// p_u·q_b + term_b (β_u does not change a reader's order), ties by book id.
public func coldMetrics(
    split: EvaluationSplit, readerVectors: [Int: [Float]], bookVectors: [Int: (vector: [Float], term: Float)]
) -> (metrics: ColdMetrics, readers: Int, books: Int) {
    let coldIDs = split.coldBooks.filter { bookVectors[$0] != nil }.sorted()
    let selector = TopKSelector(bookIDs: coldIDs)
    var relevant: [Int: Set<Int>] = [:]
    let position = Dictionary(uniqueKeysWithValues: coldIDs.enumerated().map { ($1, $0) })
    for rating in split.coldTest where rating.rating >= 4 {
        guard readerVectors[rating.user] != nil, let book = position[rating.book] else { continue }
        relevant[rating.user, default: []].insert(book)
    }
    var metrics = ColdMetrics()
    var logits = [Float](repeating: 0, count: coldIDs.count)
    for (user, relevantBooks) in relevant {
        let p = readerVectors[user]!
        for (b, id) in coldIDs.enumerated() {
            let (q, term) = bookVectors[id]!
            var logit = term
            for f in 0..<p.count { logit += p[f] * q[f] }
            logits[b] = logit
        }
        metrics.add(logits.withUnsafeBufferPointer { selector.select($0, excluding: [], k: 10).map(\.book) }, relevant: relevantBooks)
    }
    return (metrics.averaged(over: relevant.count), relevant.count, coldIDs.count)
}

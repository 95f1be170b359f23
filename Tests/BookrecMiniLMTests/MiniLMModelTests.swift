import BookrecCore
import BookrecMiniLM
import XCTest

final class MiniLMModelTests: XCTestCase {
    /// The README's bar: from the reference ids, cosine ≥ 0.9999 and max |diff| ≤ 1e-4 per text.
    func testEmbeddingsFromReferenceIdsMatch() throws {
        let model = try Reference.encoder.get().model
        var worstCosine = 1.0
        var worstDifference: Float = 0
        for reference in try Reference.allTexts() {
            let embedding = try model.sentenceEmbeddings([reference.inputIds]).row(0)
            let similarity = cosine(embedding, reference.embeddingFloats)
            let difference = maxAbsoluteDifference(embedding, reference.embeddingFloats)
            XCTAssertGreaterThanOrEqual(similarity, 0.9999, reference.text.debugDescription)
            XCTAssertLessThanOrEqual(difference, 1e-4, reference.text.debugDescription)
            worstCosine = min(worstCosine, similarity)
            worstDifference = max(worstDifference, difference)
        }
        print("MiniLM reference: min cosine \(worstCosine), max |diff| \(worstDifference)")
    }

    func testEncoderEncodesStringsLikeTheReference() throws {
        let encoder = try Reference.encoder.get()
        XCTAssertEqual(encoder.identity, EncoderIdentity(name: "all-MiniLM-L6-v2", version: "1"))
        XCTAssertEqual(encoder.dimension, 384)
        let books = try Reference.books()
        let embeddings = try encoder.encode(books.map(\.text))
        XCTAssertEqual(embeddings.rows, books.count)
        XCTAssertEqual(embeddings.columns, 384)
        for (row, book) in books.enumerated() {
            XCTAssertLessThanOrEqual(maxAbsoluteDifference(embeddings.row(row), book.embeddingFloats), 1e-4, book.text)
        }
        XCTAssertEqual(try encoder.encode([]).rows, 0)
    }

    /// Packing texts of different lengths into one batch must not change any of them.
    func testBatchGivesTheSameVectorsAsOneAtATime() throws {
        let model = try Reference.encoder.get().model
        let sentences = try Reference.sentences().sentences
        let sequences = sentences.map(\.inputIds)
        XCTAssertGreaterThan(Set(sequences.map(\.count)).count, 5)
        try assertBatchMatchesSingles(model, sequences)
    }

    /// More tokens than one pass takes: the batch is split and the rows must still line up.
    func testBatchLargerThanOnePassMatchesOneAtATime() throws {
        var model = try Reference.encoder.get().model
        model.maxTokensPerPass = 40
        let sequences = try Reference.books().map(\.inputIds)
        XCTAssertGreaterThan(sequences.reduce(0) { $0 + $1.count }, 4 * model.maxTokensPerPass)
        XCTAssertTrue(sequences.contains { $0.count > model.maxTokensPerPass / 2 })
        try assertBatchMatchesSingles(model, sequences)
    }

    /// Layer by layer against the reference's debug values for its first sentence.
    func testHiddenStatesMatchTheDebugTaps() throws {
        let model = try Reference.encoder.get().model
        let taps = try Reference.sentences().debugTaps
        let states = try model.hiddenStates(taps.inputIds)
        XCTAssertEqual(states.count, 7)
        XCTAssertEqual(taps.layers.map(\.hiddenState), Array(0...6))
        for tap in taps.layers {
            let state = states[tap.hiddenState]
            let first = Array(state.row(0)[..<8]).map(Double.init)
            let last = Array(state.row(state.rows - 1)[..<8]).map(Double.init)
            for (actual, expected) in zip(first + last, tap.token0First8 + tap.lastTokenFirst8) {
                XCTAssertEqual(actual, expected, accuracy: 1e-5, "hidden state \(tap.hiddenState)")
            }
            let sum = state.values.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, tap.sumAll, accuracy: 1e-3, "sum of hidden state \(tap.hiddenState)")
        }
        let final = states[6]
        let pooled = (0..<final.columns).map { column in
            (0..<final.rows).reduce(0.0) { $0 + Double(final[$1, column]) } / Double(final.rows)
        }
        for (actual, expected) in zip(pooled, taps.meanPooledBeforeNormalizeFirst8) {
            XCTAssertEqual(actual, expected, accuracy: 1e-5)
        }
        let norm = pooled.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(norm, taps.meanPooledNormBeforeNormalize, accuracy: 1e-5)
    }

    func testInvalidIdsAreRejected() throws {
        let model = try Reference.encoder.get().model
        XCTAssertThrowsError(try model.sentenceEmbeddings([[101, 102], []])) { error in
            XCTAssertEqual(error as? MiniLMError, .emptySequence(index: 1))
        }
        XCTAssertThrowsError(try model.sentenceEmbeddings([[101, 30_522, 102]])) { error in
            XCTAssertEqual(error as? MiniLMError, .tokenIDOutOfRange(index: 0, id: 30_522, vocabularySize: 30_522))
        }
        XCTAssertThrowsError(try model.sentenceEmbeddings([Array(repeating: 1000, count: 513)])) { error in
            XCTAssertEqual(error as? MiniLMError, .sequenceTooLong(index: 0, length: 513, limit: 512))
        }
    }

    private func assertBatchMatchesSingles(
        _ model: MiniLMModel, _ sequences: [[Int32]], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let together = try model.sentenceEmbeddings(sequences)
        XCTAssertEqual(together.rows, sequences.count, file: file, line: line)
        for (row, ids) in sequences.enumerated() {
            let alone = try model.sentenceEmbeddings([ids]).row(0)
            XCTAssertLessThanOrEqual(
                maxAbsoluteDifference(together.row(row), alone), 1e-5, "\(ids.count) ids", file: file, line: line)
        }
    }
}

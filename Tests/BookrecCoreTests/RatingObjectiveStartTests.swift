import BookrecCore
import XCTest

final class RatingObjectiveStartTests: XCTestCase {
    /// Ratings made of a reader offset and a book offset and noise, as the bias model assumes.
    private func ratings() -> Interactions {
        var generator = SeededGenerator(seed: 11)
        let readerOffset = (0..<60).map { _ in Float.random(in: -1...1, using: &generator) }
        let bookOffset = (0..<40).map { _ in Float.random(in: -1...1, using: &generator) }
        var triples: [(reader: Int, book: Int, rating: Float)] = []
        for u in 0..<60 {
            for b in 0..<40 where Float.random(in: 0..<1, using: &generator) < 0.5 {
                let rating = (3.5 + readerOffset[u] + bookOffset[b] + generator.nextGaussian() * 0.3).rounded()
                triples.append((u, b, min(max(rating, 1), 5)))
            }
        }
        return Interactions(readers: 60, books: 40, triples: triples)
    }

    private func rmse(_ ix: Interactions, _ predict: (Int, Int) -> Float) -> Float {
        var squared: Float = 0
        for i in 0..<ix.count {
            let error = predict(Int(ix.reader[i]), Int(ix.book[i])) - ix.rating[i]
            squared += error * error
        }
        return (squared / Float(ix.count)).squareRoot()
    }

    func testTheRatingObjectiveStartsAtTheBiasModel() {
        let ix = ratings()
        var configuration = ModelConfiguration()
        configuration.fusedDimension = 8
        configuration.factors = 8
        var parameters = ModelParameters(configuration: configuration, textDimension: 4, coverDimension: 2, readers: 60, books: 40)
        for u in 0..<60 { parameters.readerVectors[u, 5] = 3 }  // what a ranking start would leave
        parameters.startAtTheBiasModel(ix)
        XCTAssertEqual(parameters.readerVectors, Matrix(rows: 60, columns: 8), "readers start at 0")
        // With readers at 0 and w = 0, a rating is 1 + 4σ(c + β_u + β_b).
        let start = rmse(ix) { u, b in 1 + 4 * sigmoid(parameters.headBias + parameters.readerBias[u] + parameters.residualBias[b]) }
        let biases = RatingBiases(ix)
        let biasModel = rmse(ix) { biases.predictedRating(reader: $0, book: $1) }
        let mean = rmse(ix) { _, _ in biases.mean }
        // The sigmoid cannot follow a linear model exactly at the ends of the scale: close, not equal.
        XCTAssertLessThan(start, biasModel * 1.05, "start \(start), bias model \(biasModel)")
        XCTAssertLessThan(start, mean * 0.8, "start \(start), the mean alone \(mean)")
    }
}

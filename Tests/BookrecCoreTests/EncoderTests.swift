import BookrecCore
import XCTest

final class EncoderTests: XCTestCase {
    func testHashingEncoderIsNormalisedStableAndSimilarForSimilarTexts() {
        let corpus = ["The Hunger Games by Suzanne Collins", "Catching Fire by Suzanne Collins", "Pride and Prejudice by Jane Austen", "Emma by Jane Austen"]
        let encoder = HashingTextEncoder.fitted(on: corpus, dimension: 512)
        let vectors = encoder.encode(corpus)
        for r in 0..<vectors.rows {
            XCTAssertEqual(vectors.row(r).reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
        func cosine(_ a: Int, _ b: Int) -> Float { zip(vectors.row(a), vectors.row(b)).reduce(0) { $0 + $1.0 * $1.1 } }
        XCTAssertGreaterThan(cosine(0, 1), cosine(0, 2), "same author is closer than a different one")
        XCTAssertGreaterThan(cosine(2, 3), cosine(1, 3))
        XCTAssertEqual(encoder.encode(["Emma by Jane Austen"]).row(0), vectors.row(3), "the same text always gives the same vector")
        XCTAssertEqual(encoder.encode([""]).row(0), [Float](repeating: 0, count: 512), "empty text is the zero vector")
        XCTAssertNotEqual(encoder.identity, HashingTextEncoder(dimension: 512).identity, "the IDF table is part of the version")
    }

    func testGridCoverEncoderSeparatesColourAndTexture() {
        func image(_ pixel: (Int, Int) -> (UInt8, UInt8, UInt8)) -> RGBImage {
            var bytes: [UInt8] = []
            for y in 0..<40 {
                for x in 0..<30 {
                    let p = pixel(x, y)
                    bytes += [p.0, p.1, p.2]
                }
            }
            return RGBImage(width: 30, height: 40, pixels: bytes)
        }
        let red = image { _, _ in (220, 20, 20) }
        let darkRed = image { _, _ in (200, 30, 25) }
        let blue = image { _, _ in (20, 30, 220) }
        let stripes = image { x, _ in x % 4 < 2 ? (220, 20, 20) : (20, 30, 220) }
        let encoder = GridCoverEncoder()
        let vectors = encoder.encode([red, darkRed, blue, stripes])
        XCTAssertEqual(vectors.columns, encoder.dimension)
        func cosine(_ a: Int, _ b: Int) -> Float { zip(vectors.row(a), vectors.row(b)).reduce(0) { $0 + $1.0 * $1.1 } }
        XCTAssertGreaterThan(cosine(0, 1), 0.95)
        XCTAssertLessThan(cosine(0, 2), 0.6)
        XCTAssertLessThan(cosine(2, 3), cosine(2, 2) - 0.1, "texture changes the vector")
        XCTAssertEqual(vectors.row(0).reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
    }
}

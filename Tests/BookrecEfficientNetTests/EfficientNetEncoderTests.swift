import BookrecCore
import XCTest

@testable import BookrecEfficientNet

final class EfficientNetEncoderTests: XCTestCase {
    /// From the image files through decoding, preprocessing and the network: cosine ≥ 0.9999.
    func testEndToEndFromImageFilesMatchesReference() throws {
        let encoder = try EfficientNetEncoder(weights: try ReferenceFixtures.weightBytes(), chunkSize: 5)
        XCTAssertEqual(encoder.identity, EncoderIdentity(name: "efficientnet-lite0", version: "1"))
        XCTAssertEqual(encoder.dimension, 1280)

        let images = ReferenceFixtures.reference.allImages
        let decoded = try images.map { try ReferenceFixtures.decode(ReferenceFixtures.originalFile(of: $0)) }
        let features = try encoder.encode(decoded)
        XCTAssertEqual([features.rows, features.columns], [images.count, 1280])
        var worstCosine = 1.0, worstDifference = 0.0
        for (row, image) in images.enumerated() {
            let (cosine, maxDifference) = compare(features.row(row), image.featureFloats)
            worstCosine = min(worstCosine, cosine)
            worstDifference = max(worstDifference, maxDifference)
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, image.file)
        }
        print("EfficientNet-Lite0 end to end from files: min cosine \(worstCosine), max |diff| \(worstDifference)")
    }

    func testEmptyBatchGivesNoRows() throws {
        let encoder = try EfficientNetEncoder(weights: try ReferenceFixtures.weightBytes())
        let features = try encoder.encode([])
        XCTAssertEqual([features.rows, features.columns], [0, 1280])
    }
}

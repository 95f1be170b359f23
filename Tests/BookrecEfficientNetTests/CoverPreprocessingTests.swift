import BookrecCore
import BookrecImaging
import XCTest

@testable import BookrecEfficientNet

/// Decoding, Pillow's bicubic resize and the centre crop must give the reference bytes exactly.
final class CoverPreprocessingTests: XCTestCase {
    func testDecodedAndCroppedPixelsMatchReferenceExactly() throws {
        for image in ReferenceFixtures.reference.allImages {
            let decoded = try ReferenceFixtures.decode(ReferenceFixtures.originalFile(of: image))
            XCTAssertEqual([decoded.width, decoded.height], image.originalSize, image.file)
            XCTAssertEqual(SHA256.hex(decoded.pixels), image.decodedRGBSHA256, "decoded pixels of \(image.file)")

            let size = CoverPreprocessing.resizedSize(width: decoded.width, height: decoded.height)
            XCTAssertEqual([size.width, size.height], image.resizedSize, image.file)
            let crop = try CoverPreprocessing.crop(decoded)
            XCTAssertEqual(SHA256.hex(crop.pixels), image.cropRGBSHA256, "crop of \(image.file)")
            let expected = try ReferenceFixtures.decode(ReferenceFixtures.referenceFolder.appendingPathComponent(image.cropPNG))
            XCTAssertEqual(crop, expected, "crop of \(image.file) against \(image.cropPNG)")
        }
    }

    /// The README's numbers for the crop box: left = (W − 224) div 2, top = (H − 224) div 2.
    func testCropBoxMatchesReference() {
        for image in ReferenceFixtures.reference.allImages {
            let size = CoverPreprocessing.resizedSize(width: image.originalSize[0], height: image.originalSize[1])
            let left = (size.width - 224) / 2, top = (size.height - 224) / 2
            XCTAssertEqual([left, top, left + 224, top + 224], image.cropBox, image.file)
        }
    }

    /// A resize to the same size must leave the pixels alone (Pillow skips that pass; the
    /// port relies on the kernel being the identity there).
    func testResizeToTheSameSizeIsTheIdentity() throws {
        let image = try ReferenceFixtures.decode(ReferenceFixtures.referenceFolder.appendingPathComponent("effnet_cover_1_224.png"))
        let same = PillowBicubicResize.resize(image, width: 224, height: 224, columns: 0..<224, rows: 0..<224)
        XCTAssertEqual(same, image)
    }

    func testNormalisationIsInceptionStyleInPlanarOrder() throws {
        let crop = try ReferenceFixtures.decode(ReferenceFixtures.referenceFolder.appendingPathComponent("effnet_input_china_224.png"))
        var tensor = [Float]()
        CoverPreprocessing.appendNormalised(crop, to: &tensor)
        XCTAssertEqual(tensor, try ReferenceFixtures.npyFloats("effnet_input_china_224.npy"))
    }

    func testEmptyImageIsRefused() {
        XCTAssertThrowsError(try CoverPreprocessing.crop(RGBImage(width: 0, height: 0, pixels: [])))
    }
}

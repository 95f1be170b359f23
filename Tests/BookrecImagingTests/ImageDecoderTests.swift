import BookrecCore
import BookrecImaging
import XCTest

final class ImageDecoderTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func decode(_ path: String, maxPixels: Int = 40_000_000) -> Result<RGBImage, ImageDecodingError> {
        Result { try ImageDecoder(maxPixels: maxPixels).decode(contentsOf: root.appendingPathComponent(path)) }
            .mapError { $0 as? ImageDecodingError ?? ImageDecodingError(reason: "\($0)") }
    }

    func testRealCoversDecodeToRGB() throws {
        let jpeg = try decode("data/goodbooks/covers/1.jpg").get()
        XCTAssertEqual([jpeg.width, jpeg.height], [318, 466])
        let grey = try decode("data/goodbooks/covers/682.jpg").get()
        XCTAssertEqual(grey.pixels.count, grey.width * grey.height * 3, "greyscale is replicated to RGB")
        XCTAssertEqual(grey.pixels[0], grey.pixels[1])
        let png = try decode("data/goodbooks/covers/198.png").get()
        XCTAssertGreaterThan(png.width, 0)
    }

    func testBadImagesGiveReasonsNotCrashes() {
        func reason(_ name: String) -> String {
            switch decode("Tests/Fixtures/bad-input/covers/\(name)") {
            case .success: return "decoded"
            case .failure(let error): return error.reason
            }
        }
        XCTAssertEqual(reason("7.jpg"), "JPEG: Premature end of JPEG file")
        XCTAssertTrue(reason("8.jpg").hasPrefix("JPEG: "), reason("8.jpg"))
        XCTAssertEqual(reason("bomb.png"), "PNG: 30000x30000 pixels exceeds the limit of 40000000")
        XCTAssertTrue(reason("truncated.png").hasPrefix("PNG: "), reason("truncated.png"))
        XCTAssertEqual(reason("corrupt.png"), "PNG: IDAT: invalid distance too far back", "damaged compressed data")
        XCTAssertEqual(reason("text.jpg"), "not a JPEG or PNG file (unrecognised signature)")
        XCTAssertEqual(reason("empty.png"), "empty file")
    }

    func testThePixelLimitIsCheckedBeforeDecoding() {
        if case .success = decode("data/goodbooks/covers/1.jpg", maxPixels: 1000) { XCTFail("a 318x466 image exceeds 1000 pixels") }
    }
}

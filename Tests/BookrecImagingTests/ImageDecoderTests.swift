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

/// The decoder against Pillow on the kinds of image covers come in: Pillow (installed by
/// scripts/test.sh under .run/tools) writes each image and its own RGB pixels for it
/// (Tests/Fixtures/pillow/make-images.py); bookrec's pixels must match, exactly for PNG and
/// within 2 levels for JPEG (the two libjpeg-turbo builds may round the IDCT differently).
final class PillowComparisonTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testCMYKGrayscalePaletteAlphaSixteenBitInterlacedProgressiveAndEXIFImagesDecodeAsPillowDoes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-pillow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = [root.appendingPathComponent("Tests/Fixtures/pillow/make-images.py").path, folder.path]
        python.environment = ["PYTHONPATH": root.appendingPathComponent(".run/tools").path]
        let errors = Pipe()
        python.standardError = errors
        try python.run()
        python.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard python.terminationStatus == 0 else {
            return XCTFail("making the images with Pillow failed (scripts/test.sh installs Pillow under .run/tools):\n\(message)")
        }
        let names = try String(contentsOf: folder.appendingPathComponent("names.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(names.count, 10)
        for name in names {
            let decoded = try ImageDecoder().decode(contentsOf: folder.appendingPathComponent(name))
            let expected = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name + ".rgb")))
            XCTAssertEqual(decoded.pixels.count, expected.count, name)
            let largest = zip(decoded.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(largest, name.hasSuffix(".png") ? 0 : 2, "\(name): largest difference from Pillow \(largest)")
        }
    }
}

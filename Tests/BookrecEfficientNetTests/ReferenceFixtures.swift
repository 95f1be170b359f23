import BookrecCore
import BookrecEfficientNet
import BookrecImaging
import Foundation

/// The EfficientNet-Lite0 reference data of Tests/Fixtures/reference (see its README, section 2)
/// and the weight file that scripts/setup.sh fetches.
enum ReferenceFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let referenceFolder = repositoryRoot.appendingPathComponent("Tests/Fixtures/reference")
    static let coversFolder = repositoryRoot.appendingPathComponent("data/goodbooks/covers")
    static let weightsFile = repositoryRoot.appendingPathComponent("models/efficientnet/efficientnet-lite0.pth")

    struct MissingWeights: Error, CustomStringConvertible {
        var description: String {
            "EfficientNet-Lite0 weights not found at \(ReferenceFixtures.weightsFile.path): run scripts/setup.sh"
        }
    }

    static func weightBytes() throws -> Data {
        guard FileManager.default.fileExists(atPath: weightsFile.path) else { throw MissingWeights() }
        return try Data(contentsOf: weightsFile)
    }

    /// Parsing and folding 4.6 M weights takes a moment, so the tests share one network.
    static func network() throws -> EfficientNetLite0 {
        try sharedNetwork.get()
    }

    private static let sharedNetwork = Result { try EfficientNetLite0(weights: try weightBytes()) }

    static let reference: ReferenceFile = {
        let data = try! Data(contentsOf: referenceFolder.appendingPathComponent("effnet_lite0.json"))
        return try! JSONDecoder().decode(ReferenceFile.self, from: data)
    }()

    /// The original file of a reference image: the photos sit next to the JSON, covers in the data.
    static func originalFile(of image: ReferenceImage) -> URL {
        image.inputNpy == nil
            ? coversFolder.appendingPathComponent(image.file)
            : referenceFolder.appendingPathComponent(image.file)
    }

    static func decode(_ url: URL) throws -> RGBImage {
        try ImageDecoder().decode(contentsOf: url)
    }

    /// A NumPy 1.0 `.npy` of little-endian float32; returns the values after the header.
    static func npyFloats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: referenceFolder.appendingPathComponent(name))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let payload = data.dropFirst(10 + headerLength)
        return payload.withUnsafeBytes { raw in
            (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

struct ReferenceFile: Decodable {
    let sampleImages: [ReferenceImage]
    let covers: [ReferenceImage]
    let debugTapsChina: DebugTaps

    var allImages: [ReferenceImage] { sampleImages + covers }

    enum CodingKeys: String, CodingKey {
        case sampleImages = "sample_images", covers, debugTapsChina = "debug_taps_china"
    }
}

struct ReferenceImage: Decodable {
    let file: String
    let decodedRGBSHA256: String
    let originalSize: [Int]
    let resizedSize: [Int]
    let cropBox: [Int]
    let cropPNG: String
    let cropRGBSHA256: String
    let inputNpy: String?
    let feature: [Double]
    /// Pairs of ImageNet class id and probability, most probable first.
    let top5: [[Double]]

    enum CodingKeys: String, CodingKey {
        case file, decodedRGBSHA256 = "decoded_rgb_sha256", originalSize = "original_size_wh"
        case resizedSize = "resized_size_wh", cropBox = "crop_box_ltrb", cropPNG = "crop_png"
        case cropRGBSHA256 = "crop_rgb_sha256", inputNpy = "input_npy", feature = "feature_1280", top5
    }

    var featureFloats: [Float] { feature.map { Float($0) } }
}

struct DebugTaps: Decodable {
    let taps: [Tap]

    struct Tap: Decodable {
        let after: String
        let shapeCHW: [Int]
        let sum: Double
        let sumAbs: Double
        let topLeft: [Double]
        let bottomRight: [Double]
        let middle: [Double]
        let spatialMean: [Double]

        enum CodingKeys: String, CodingKey {
            case after, shapeCHW = "shape_chw", sum, sumAbs = "sum_abs", topLeft = "first8ch_at_y0_x0"
            case bottomRight = "first8ch_at_yLast_xLast", middle = "first8ch_at_yMid_xMid", spatialMean = "first8ch_spatial_mean"
        }
    }
}

/// Cosine similarity and the largest absolute difference of two vectors.
func compare(_ actual: [Float], _ expected: [Float]) -> (cosine: Double, maxDifference: Double) {
    precondition(actual.count == expected.count)
    var dot = 0.0, actualNorm = 0.0, expectedNorm = 0.0, maxDifference = 0.0
    for (a, e) in zip(actual.map(Double.init), expected.map(Double.init)) {
        dot += a * e
        actualNorm += a * a
        expectedNorm += e * e
        maxDifference = max(maxDifference, abs(a - e))
    }
    return (dot / (actualNorm.squareRoot() * expectedNorm.squareRoot()), maxDifference)
}

/// Softmax of one row of logits, in Double.
func probabilities(_ logits: [Float]) -> [Double] {
    let largest = Double(logits.max()!)
    let exponentials = logits.map { exp(Double($0) - largest) }
    let total = exponentials.reduce(0, +)
    return exponentials.map { $0 / total }
}

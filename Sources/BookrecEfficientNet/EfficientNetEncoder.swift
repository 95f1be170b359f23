import BookrecCore
import Foundation

/// Book covers to 1280-d EfficientNet-Lite0 features: Pillow-exact preprocessing, then the
/// network's pooled head activation (before the classifier).
public struct EfficientNetEncoder: Encoder {
    public typealias Input = RGBImage

    public let identity = EncoderIdentity(name: "efficientnet-lite0", version: "1")
    public var dimension: Int { EfficientNetLite0.featureDimension }
    public let network: EfficientNetLite0
    /// Images per forward pass. Activations take about 10 MB per image; beyond two images they
    /// fall out of the caches and the pass gets slower per image (measured: 13.5 ms at 1 or 2,
    /// 18 ms at 4 or 8), which outweighs the bigger sgemms of the late layers.
    public let chunkSize: Int

    /// `weights` are the bytes of `efficientnet-lite0.pth` (the legacy PyTorch file).
    public init(weights: Data, chunkSize: Int = 2) throws {
        precondition(chunkSize > 0)
        network = try EfficientNetLite0(weights: weights)
        self.chunkSize = chunkSize
    }

    public func encode(_ batch: [RGBImage]) throws -> Matrix {
        var values = [Float]()
        values.reserveCapacity(batch.count * dimension)
        for start in stride(from: 0, to: batch.count, by: chunkSize) {
            let chunk = Array(batch[start..<min(start + chunkSize, batch.count)])
            let input = try CoverPreprocessing.inputTensor(for: chunk)
            values.append(contentsOf: network.features(of: input, count: chunk.count).values)
        }
        return Matrix(rows: batch.count, columns: dimension, values: values)
    }
}

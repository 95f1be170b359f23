import BookrecEfficientNet
import BookrecMiniLM
import Foundation

/// Loads the pretrained encoders from the files scripts/setup.sh installs (models/ by default).
public enum PretrainedEncoders {
    public static func text(modelsDirectory: URL) throws -> MiniLMEncoder {
        let folder = modelsDirectory.appendingPathComponent("minilm")
        return try MiniLMEncoder(
            safetensors: try read(folder.appendingPathComponent("model.safetensors")),
            vocabulary: try read(folder.appendingPathComponent("vocab.txt")))
    }

    public static func cover(modelsDirectory: URL) throws -> EfficientNetEncoder {
        try EfficientNetEncoder(weights: try read(modelsDirectory.appendingPathComponent("efficientnet/efficientnet-lite0.pth")))
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw MissingModelWeights(description: "cannot read \(url.path): install the pretrained weights with scripts/setup.sh")
        }
    }
}

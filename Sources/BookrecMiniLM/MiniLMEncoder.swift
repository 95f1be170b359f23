import BookrecCore
import Foundation

/// all-MiniLM-L6-v2 as a bookrec text encoder: strings in, L2-normalised 384-d rows out, matching
/// sentence-transformers' `encode` to float32 precision.
public struct MiniLMEncoder: Encoder {
    public typealias Input = String

    public let identity = EncoderIdentity(name: "all-MiniLM-L6-v2", version: "1")
    public var dimension: Int { MiniLMModel.hiddenSize }
    public let tokenizer: WordPieceTokenizer
    public let model: MiniLMModel

    /// `safetensors` and `vocabulary` are the bytes of the model's model.safetensors and vocab.txt.
    public init(safetensors: Data, vocabulary: Data) throws {
        tokenizer = try WordPieceTokenizer(vocabulary: vocabulary)
        model = try MiniLMModel(weights: Safetensors(bytes: safetensors))
        guard tokenizer.vocabularySize == model.vocabularySize else {
            throw MiniLMError.vocabularyMismatch(
                vocabularyLines: tokenizer.vocabularySize, embeddingRows: model.vocabularySize)
        }
    }

    public func encode(_ batch: [String]) throws -> Matrix {
        try model.sentenceEmbeddings(batch.map(tokenizer.ids(for:)))
    }
}

import BookrecCore
import BookrecImaging
import BookrecStore
import Foundation

/// The text and cover encoders of one generation, as configured.
public struct EncoderSet {
    public let textIdentity: EncoderIdentity
    public let coverIdentity: EncoderIdentity
    public let textDimension: Int
    public let coverDimension: Int
    let encodeTexts: ([String]) throws -> Matrix
    let encodeCovers: ([RGBImage]) throws -> Matrix
    let imageDecoder = ImageDecoder()

    /// Builds the encoders of a generation; the hashing encoder's IDF table is stored with the
    /// generation so that every worker encodes with the same one.
    public init(configuration: RunConfiguration, generationID: Int, store: Store, modelsDirectory: URL) throws {
        switch configuration.textEncoder {
        case .hashing:
            guard let blob = try store.blob(generationID: generationID, name: ModelBlob.textIDF) else {
                throw StoreError("generation \(generationID) has no IDF table for the hashing encoder")
            }
            let encoder = HashingTextEncoder(dimension: configuration.hashingDimension, inverseDocumentFrequency: [Float](blob: blob))
            textIdentity = encoder.identity
            textDimension = encoder.dimension
            encodeTexts = { encoder.encode($0) }
        case .minilm:
            let encoder = try PretrainedEncoders.text(modelsDirectory: modelsDirectory)
            textIdentity = encoder.identity
            textDimension = encoder.dimension
            encodeTexts = { try encoder.encode($0) }
        }
        switch configuration.coverEncoder {
        case .grid:
            let encoder = GridCoverEncoder()
            coverIdentity = encoder.identity
            coverDimension = encoder.dimension
            encodeCovers = { encoder.encode($0) }
        case .efficientnet:
            let encoder = try PretrainedEncoders.cover(modelsDirectory: modelsDirectory)
            coverIdentity = encoder.identity
            coverDimension = encoder.dimension
            encodeCovers = { try encoder.encode($0) }
        }
    }

    func encode(texts: [String]) throws -> Matrix { try encodeTexts(texts) }

    /// Cover vectors for the covers that decode; the others are returned as failures by position.
    func encode(coverBytes: [Data]) throws -> (vectors: Matrix, failures: [Int: String]) {
        var images: [RGBImage] = []
        var positions: [Int] = []
        var failures: [Int: String] = [:]
        for (i, bytes) in coverBytes.enumerated() {
            do {
                images.append(try imageDecoder.decode(bytes))
                positions.append(i)
            } catch {
                failures[i] = "\(error)"
            }
        }
        let encoded = images.isEmpty ? Matrix(rows: 0, columns: coverDimension) : try encodeCovers(images)
        var vectors = Matrix(rows: coverBytes.count, columns: coverDimension)
        for (row, position) in positions.enumerated() { vectors.setRow(position, encoded.row(row)) }
        return (vectors, failures)
    }
}

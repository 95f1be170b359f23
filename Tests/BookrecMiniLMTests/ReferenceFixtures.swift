import BookrecMiniLM
import Foundation
import XCTest

/// The repository root, found from this file's location so the tests run from any directory.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// One text of minilm_sentences.json or minilm_books.json with what the reference produced for it.
struct ReferenceText: Decodable {
    let text: String
    let inputIds: [Int32]
    let tokens: [String]
    /// Parsed as Double and then narrowed, which recovers the exact float32 values.
    let embedding: [Double]

    var embeddingFloats: [Float] { embedding.map(Float.init) }
}

struct SentenceFixture: Decodable {
    struct DebugTaps: Decodable {
        struct HiddenState: Decodable {
            let hiddenState: Int
            let token0First8: [Double]
            let lastTokenFirst8: [Double]
            let sumAll: Double
        }
        let inputIds: [Int32]
        let layers: [HiddenState]
        let meanPooledBeforeNormalizeFirst8: [Double]
        let meanPooledNormBeforeNormalize: Double
    }
    let sentences: [ReferenceText]
    let debugTaps: DebugTaps
}

struct BookFixture: Decodable {
    let books: [ReferenceText]
}

enum Reference {
    static func decode<T: Decodable>(_ type: T.Type, file: String) throws -> T {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/\(file)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(contentsOf: url))
    }

    static func sentences() throws -> SentenceFixture { try decode(SentenceFixture.self, file: "minilm_sentences.json") }
    static func books() throws -> [ReferenceText] { try decode(BookFixture.self, file: "minilm_books.json").books }

    static func allTexts() throws -> [ReferenceText] { try sentences().sentences + books() }

    /// Loaded once for the whole test run: parsing 87 MB of weights is the slow part.
    static let encoder = Result { try loadEncoder() }

    private static func loadEncoder() throws -> MiniLMEncoder {
        let folder = repositoryRoot.appendingPathComponent("models/minilm")
        let weights = folder.appendingPathComponent("model.safetensors")
        let vocabulary = folder.appendingPathComponent("vocab.txt")
        for file in [weights, vocabulary] where !FileManager.default.fileExists(atPath: file.path) {
            throw MissingModelFile(path: file.path)
        }
        return try MiniLMEncoder(safetensors: Data(contentsOf: weights), vocabulary: Data(contentsOf: vocabulary))
    }
}

struct MissingModelFile: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path) is missing: run scripts/setup.sh to download the encoder weights" }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, normA = 0.0, normB = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        normA += Double(x) * Double(x)
        normB += Double(y) * Double(y)
    }
    return dot / (normA * normB).squareRoot()
}

func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

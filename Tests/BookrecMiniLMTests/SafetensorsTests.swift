import BookrecMiniLM
import Foundation
import XCTest

final class SafetensorsTests: XCTestCase {
    /// A safetensors file from a header dictionary and the raw data section.
    private func file(header: String, data: [UInt8]) -> Data {
        let json = Array(header.utf8)
        let length = UInt64(json.count)
        return Data((0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + json + data)
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
    }

    func testReadsF32Tensors() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}"#
        let tensors = try Safetensors(bytes: file(header: header, data: floatBytes([1, -2, 3.5, 0]) + Array(repeating: 0, count: 8)))
        XCTAssertEqual(try tensors.floats("a", shape: [2, 2]), [1, -2, 3.5, 0])
        XCTAssertEqual(tensors.tensors["b"]?.shape, [1])
        XCTAssertThrowsError(try tensors.floats("a", shape: [4])) { error in
            XCTAssertEqual(error as? SafetensorsError, .unexpectedShape(name: "a", shape: [2, 2], expected: [4]))
        }
        XCTAssertThrowsError(try tensors.floats("b", shape: [1])) { error in
            XCTAssertEqual(error as? SafetensorsError, .unexpectedDType(name: "b", dtype: "I64", expected: "F32"))
        }
        XCTAssertThrowsError(try tensors.floats("c", shape: [1])) { error in
            XCTAssertEqual(error as? SafetensorsError, .missingTensor("c"))
        }
    }

    func testMalformedFilesThrow() {
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("short", Data([1, 0, 0])),
            ("header past the end", Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D])),
            ("not JSON", file(header: "not json", data: [])),
            ("JSON array", file(header: "[1,2]", data: [])),
            ("entry not an object", file(header: #"{"a":3}"#, data: [])),
            ("unknown dtype", file(header: #"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, data: Array(repeating: 0, count: 16))),
            ("negative shape", file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("offsets past the data", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])),
            ("offsets reversed", file(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0])),
            ("size disagrees with shape", file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))),
            ("shape overflows", file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#, data: [])),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try Safetensors(bytes: bytes), name) { error in
                XCTAssertTrue(error is SafetensorsError, "\(name): \(error)")
            }
        }
    }

    /// A download cut short must fail with an error, never read past the end of the bytes.
    func testTruncatedModelFileThrows() throws {
        let folder = repositoryRoot.appendingPathComponent("models/minilm")
        guard let weights = try? Data(contentsOf: folder.appendingPathComponent("model.safetensors")) else {
            throw MissingModelFile(path: folder.appendingPathComponent("model.safetensors").path)
        }
        let vocabulary = try Data(contentsOf: folder.appendingPathComponent("vocab.txt"))
        for length in [100, weights.count / 2, weights.count - 1] {
            XCTAssertThrowsError(try MiniLMEncoder(safetensors: weights.prefix(length), vocabulary: vocabulary), "\(length) bytes")
        }
    }
}

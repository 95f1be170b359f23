import Foundation
import XCTest

@testable import BookrecEfficientNet

final class LegacyTorchFileTests: XCTestCase {
    func testReadsAllTensorsOfTheWeightFile() throws {
        let file = try LegacyTorchFile(bytes: try ReferenceFixtures.weightBytes())
        XCTAssertEqual(file.names.count, 296)
        XCTAssertEqual(file.names.first, "_conv_stem.weight")
        XCTAssertEqual(file.shape(of: "_fc.weight"), [1000, 1280])
        XCTAssertEqual(file.shape(of: "_blocks.15._depthwise_conv.weight"), [1152, 1, 3, 3])
        XCTAssertNil(file.shape(of: "_blocks.0._expand_conv.weight"))
        XCTAssertThrowsError(try file.floatTensor("_bn0.num_batches_tracked"))
        XCTAssertThrowsError(try file.floatTensor("no.such.tensor"))
    }

    /// The file's conv weights are views of TensorFlow-ordered storages; reading them as if
    /// row-major would scramble them. A [2, 3] tensor with strides (1, 2) is column-major.
    func testTensorsAreReadThroughTheirStrides() throws {
        let file = try LegacyTorchFile(bytes: Self.tinyFile(shape: [2, 3], stride: [1, 2], storage: [0, 1, 2, 3, 4, 5]))
        XCTAssertEqual(file.names, ["w"])
        let tensor = try file.floatTensor("w")
        XCTAssertEqual(tensor.shape, [2, 3])
        XCTAssertEqual(tensor.values, [0, 2, 4, 1, 3, 5])
    }

    func testTensorReachingOutsideItsStorageThrows() throws {
        let file = try LegacyTorchFile(bytes: Self.tinyFile(shape: [2, 3], stride: [3, 2], storage: [0, 1, 2, 3, 4, 5]))
        XCTAssertThrowsError(try file.floatTensor("w")) { error in
            XCTAssertTrue("\(error)".contains("outside its storage"), "\(error)")
        }
    }

    func testEveryTruncationOfASmallFileThrows() throws {
        let bytes = Self.tinyFile(shape: [2, 3], stride: [3, 1], storage: [0, 1, 2, 3, 4, 5])
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try LegacyTorchFile(bytes: bytes.prefix(length)), "truncated to \(length) bytes")
        }
        XCTAssertThrowsError(try LegacyTorchFile(bytes: bytes + Data([0])), "trailing byte")
    }

    func testTruncatedFilesThrow() throws {
        let bytes = try ReferenceFixtures.weightBytes()
        // Inside the pickles, inside the first storage's element count, inside the storages.
        for length in [0, 1, 10, 100, 1_000, 40_000, 47_180, bytes.count / 2, bytes.count - 1] {
            XCTAssertThrowsError(try LegacyTorchFile(bytes: bytes.prefix(length)), "truncated to \(length) bytes") { error in
                XCTAssertTrue(error is TorchFileError, "\(error)")
            }
        }
        XCTAssertThrowsError(try EfficientNetLite0(weights: bytes.prefix(bytes.count - 4)))
    }

    func testGarbageAndForeignPicklesThrow() throws {
        var generator = SplitMix64(seed: 1)
        let garbage = Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        XCTAssertThrowsError(try LegacyTorchFile(bytes: garbage))
        // A zip-format (PyTorch ≥ 1.6) file is not this format.
        XCTAssertThrowsError(try LegacyTorchFile(bytes: Data("PK\u{3}\u{4}".utf8) + garbage))
        // A pickle calling os.system must be refused, not run.
        let hostile = Data([0x80, 0x02]) + Data("cos\nsystem\nX\u{2}\0\0\0ls\u{85}R.".utf8)
        XCTAssertThrowsError(try LegacyTorchFile(bytes: hostile)) { error in
            XCTAssertTrue("\(error)".contains("os.system"), "\(error)")
        }
    }

    /// Deeply nested values could overflow the stack when compared or freed.
    func testNestingBombIsRefused() {
        let bomb = Data([0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E])
        XCTAssertThrowsError(try LegacyTorchFile(bytes: bomb)) { error in
            XCTAssertTrue("\(error)".contains("nested"), "\(error)")
        }
    }

    func testCorruptedBytesNeverCrash() throws {
        let bytes = try ReferenceFixtures.weightBytes()
        let header = bytes.prefix(47_176)  // the five pickles of the real file; storages follow
        var generator = SplitMix64(seed: 2)
        for _ in 0..<100 {
            var corrupted = header
            let position = Int.random(in: 0..<header.count, using: &generator)
            corrupted[position] = UInt8.random(in: 0...255, using: &generator)
            _ = try? LegacyTorchFile(bytes: corrupted + bytes.dropFirst(header.count))
        }
    }

    /// A legacy torch file holding one float tensor "w", written opcode by opcode the way
    /// `torch.save(..., _use_new_zipfile_serialization=False)` does.
    private static func tinyFile(shape: [Int], stride: [Int], storage: [Float]) -> Data {
        func string(_ text: String) -> [UInt8] {
            [0x58] + withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
        }
        func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
        func tuple(_ values: [Int]) -> [UInt8] { [0x28] + values.flatMap { [0x4B, UInt8($0)] } + [0x74] }
        let proto: [UInt8] = [0x80, 0x02], stop: [UInt8] = [0x2E]

        var bytes = proto + [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] + stop
        bytes += proto + [0x4D, 0xE9, 0x03] + stop
        bytes += proto + [0x7D] + string("little_endian") + [0x88, 0x73] + stop
        bytes += proto + global("collections", "OrderedDict") + [0x29, 0x52, 0x28] + string("w")
        bytes += global("torch._utils", "_rebuild_tensor_v2") + [0x28, 0x28] + string("storage") + global("torch", "FloatStorage")
        bytes += string("0") + string("cpu") + [0x4B, UInt8(storage.count), 0x4E, 0x74, 0x51, 0x4B, 0x00]
        bytes += tuple(shape) + tuple(stride) + [0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52, 0x75] + stop
        bytes += proto + [0x5D, 0x28] + string("0") + [0x65] + stop
        bytes += withUnsafeBytes(of: Int64(storage.count).littleEndian, Array.init)
        bytes += storage.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return Data(bytes)
    }
}

/// A small seeded generator, so that the random corruptions are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

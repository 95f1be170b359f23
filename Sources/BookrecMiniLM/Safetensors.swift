import Foundation

/// Why a safetensors file could not be read. Each case names what was wrong so that a truncated
/// download or a different model is recognisable from the message alone.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case tooShort(byteCount: Int)
    case headerOutOfBounds(headerLength: UInt64, byteCount: Int)
    case headerNotJSONObject
    case malformedEntry(name: String, reason: String)
    case missingTensor(String)
    case unexpectedDType(name: String, dtype: String, expected: String)
    case unexpectedShape(name: String, shape: [Int], expected: [Int])

    public var description: String {
        switch self {
        case .tooShort(let count):
            return "safetensors: \(count) bytes is too short to hold the 8-byte header length"
        case .headerOutOfBounds(let length, let count):
            return "safetensors: header of \(length) bytes does not fit in a file of \(count) bytes"
        case .headerNotJSONObject:
            return "safetensors: header is not a JSON object"
        case .malformedEntry(let name, let reason):
            return "safetensors: entry '\(name)' is malformed: \(reason)"
        case .missingTensor(let name):
            return "safetensors: no tensor named '\(name)'"
        case .unexpectedDType(let name, let dtype, let expected):
            return "safetensors: tensor '\(name)' is \(dtype), expected \(expected)"
        case .unexpectedShape(let name, let shape, let expected):
            return "safetensors: tensor '\(name)' has shape \(shape), expected \(expected)"
        }
    }
}

/// A parsed safetensors file: an 8-byte little-endian header length, a JSON header mapping names to
/// dtype, shape and byte range, then the raw little-endian tensor data.
/// Every entry is validated up front, so reading a tensor later cannot run past the data.
public struct Safetensors {
    public struct TensorInfo: Equatable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the data section (after the header).
        let byteRange: Range<Int>
    }

    public let tensors: [String: TensorInfo]
    private let data: Data

    private static let elementSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    public init(bytes: Data) throws {
        guard bytes.count >= 8 else { throw SafetensorsError.tooShort(byteCount: bytes.count) }
        let headerLength = bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError.headerOutOfBounds(headerLength: headerLength, byteCount: bytes.count)
        }
        let headerStart = bytes.startIndex + 8
        let dataStart = headerStart + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: bytes[headerStart..<dataStart]) as? [String: Any] else {
            throw SafetensorsError.headerNotJSONObject
        }
        let dataCount = bytes.count - 8 - Int(headerLength)
        var tensors = [String: TensorInfo]()
        for (name, value) in header where name != "__metadata__" {
            tensors[name] = try Self.tensorInfo(name: name, entry: value, dataCount: dataCount)
        }
        self.tensors = tensors
        self.data = bytes[dataStart...]
    }

    private static func tensorInfo(name: String, entry: Any, dataCount: Int) throws -> TensorInfo {
        func malformed(_ reason: String) -> SafetensorsError { .malformedEntry(name: name, reason: reason) }
        guard let entry = entry as? [String: Any] else { throw malformed("not a JSON object") }
        guard let dtype = entry["dtype"] as? String else { throw malformed("no string 'dtype'") }
        guard let elementSize = elementSizes[dtype] else { throw malformed("unknown dtype \(dtype)") }
        guard let shape = entry["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
            throw malformed("'shape' is not a list of non-negative integers")
        }
        guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
            throw malformed("'data_offsets' is not a pair of integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard 0 <= begin, begin <= end, end <= dataCount else {
            throw malformed("data_offsets \(offsets) outside the \(dataCount) data bytes")
        }
        let (elementCount, overflow) = shape.reduce((1, false)) { acc, dim in
            let (product, o) = acc.0.multipliedReportingOverflow(by: dim)
            return (product, acc.1 || o)
        }
        guard !overflow, elementCount.multipliedReportingOverflow(by: elementSize) == (end - begin, false) else {
            throw malformed("shape \(shape) of \(dtype) does not fill \(end - begin) bytes")
        }
        return TensorInfo(dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// The values of an F32 tensor in row-major order, checked against the expected shape.
    public func floats(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let info = tensors[name] else { throw SafetensorsError.missingTensor(name) }
        guard info.dtype == "F32" else {
            throw SafetensorsError.unexpectedDType(name: name, dtype: info.dtype, expected: "F32")
        }
        guard info.shape == expected else {
            throw SafetensorsError.unexpectedShape(name: name, shape: info.shape, expected: expected)
        }
        let bytes = data[(data.startIndex + info.byteRange.lowerBound)..<(data.startIndex + info.byteRange.upperBound)]
        // The file is little-endian, as is every platform bookrec runs on; copying the bytes as they
        // are also copes with tensors whose offsets are not 4-byte aligned.
        return [Float](unsafeUninitializedCapacity: bytes.count / 4) { buffer, count in
            bytes.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            count = bytes.count / 4
        }
    }
}

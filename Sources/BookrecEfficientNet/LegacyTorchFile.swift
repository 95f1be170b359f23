import Foundation

/// Why a weight file could not be read; says where in the file it went wrong.
public struct TorchFileError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { "PyTorch weight file: \(reason)" }
}

/// A tensor of a legacy PyTorch file, materialised as contiguous row-major float32.
public struct TorchTensor: Sendable {
    public let shape: [Int]
    public let values: [Float]
}

/// Reads PyTorch's pre-1.6 serialisation (`torch.save` with `_use_new_zipfile_serialization=False`):
/// five pickles back to back, then the raw storages in the order the last pickle lists them.
///
/// Only the pickle subset a state dict of CPU tensors needs is understood; anything else is
/// refused with an error, so a hostile file cannot make it run anything.
public struct LegacyTorchFile: Sendable {
    /// Tensor names in state-dict order.
    public let names: [String]
    private let records: [String: TensorRecord]
    private let storages: [String: Storage]
    private let bytes: Data

    private static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c, little-endian
    private static let protocolVersion = 1001

    public init(bytes: Data) throws {
        // A Data slice may not start at index 0; the parser works on offsets.
        let bytes = Data(bytes)
        var reader = PickleReader(bytes: bytes)

        guard case .integerBytes(let magic) = try reader.load(), magic == Self.magicNumber else {
            throw TorchFileError(reason: "not a legacy PyTorch file (magic number missing)")
        }
        guard case .int(Self.protocolVersion) = try reader.load() else {
            throw TorchFileError(reason: "unsupported protocol version (expected \(Self.protocolVersion))")
        }
        guard case .dict(let systemInfo) = try reader.load(),
            systemInfo.contains(where: { $0.key == .string("little_endian") && $0.value == .bool(true) })
        else {
            throw TorchFileError(reason: "system info does not declare little-endian storages")
        }
        guard case .dict(let stateDict) = try reader.load() else {
            throw TorchFileError(reason: "the state dict is not a dictionary")
        }
        guard case .list(let storageKeyValues) = try reader.load() else {
            throw TorchFileError(reason: "the storage key list is missing")
        }

        var names = [String]()
        var records = [String: TensorRecord]()
        for entry in stateDict {
            guard case .string(let name) = entry.key, case .tensor(let record) = entry.value else {
                throw TorchFileError(reason: "state dict entry \(entry.key) is not a named tensor")
            }
            if records.updateValue(record, forKey: name) != nil {
                throw TorchFileError(reason: "tensor \(name) appears twice")
            }
            names.append(name)
        }

        var declared = [String: StorageReference]()
        for record in records.values { declared[record.storage.key] = record.storage }
        var storages = [String: Storage]()
        var offset = reader.offset
        for keyValue in storageKeyValues {
            guard case .string(let key) = keyValue else { throw TorchFileError(reason: "storage key \(keyValue) is not a string") }
            guard let reference = declared[key] else { throw TorchFileError(reason: "storage \(key) is not used by any tensor") }
            guard let count = bytes.littleEndianInt64(at: offset), count == Int64(reference.count) else {
                throw TorchFileError(reason: "storage \(key) at byte \(offset): element count missing or not \(reference.count)")
            }
            let start = offset + 8
            let end = start + reference.count * reference.kind.elementSize
            guard end <= bytes.count else {
                throw TorchFileError(reason: "storage \(key) runs past the end of the file (truncated?)")
            }
            storages[key] = Storage(kind: reference.kind, range: start..<end)
            offset = end
        }
        if offset != bytes.count {
            throw TorchFileError(reason: "\(bytes.count - offset) unexpected bytes after the last storage")
        }
        for (name, record) in records where storages[record.storage.key] == nil {
            throw TorchFileError(reason: "tensor \(name) uses storage \(record.storage.key), which the file does not contain")
        }

        self.names = names
        self.records = records
        self.storages = storages
        self.bytes = bytes
    }

    /// The shape of a tensor, or nil when the file has no tensor of that name.
    public func shape(of name: String) -> [Int]? {
        records[name]?.size
    }

    /// Copies a float tensor into row-major order, following its strides: the converted
    /// TensorFlow checkpoints store conv weights as strided views of HWIO-ordered storages.
    public func floatTensor(_ name: String) throws -> TorchTensor {
        guard let record = records[name] else { throw TorchFileError(reason: "no tensor named \(name)") }
        guard record.storage.kind == .float32 else { throw TorchFileError(reason: "tensor \(name) is not float32") }
        let storage = storages[record.storage.key]!
        let elementCount = storage.range.count / 4

        guard let count = Self.elementCount(of: record, within: elementCount) else {
            throw TorchFileError(reason: "tensor \(name) of size \(record.size) reaches outside its storage of \(elementCount) elements")
        }
        let values = [Float](unsafeUninitializedCapacity: count) { output, initialised in
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + storage.range.lowerBound
                var index = [Int](repeating: 0, count: record.size.count)
                var element = record.offset
                for position in 0..<count {
                    let bits = base.loadUnaligned(fromByteOffset: element * 4, as: UInt32.self)
                    output[position] = Float(bitPattern: UInt32(littleEndian: bits))
                    // Advance the multi-index like an odometer, last dimension fastest.
                    var axis = index.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        element += record.stride[axis]
                        if index[axis] < record.size[axis] { break }
                        element -= index[axis] * record.stride[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            initialised = count
        }
        return TorchTensor(shape: record.size, values: values)
    }

    /// The number of elements of a tensor whose every element lies inside a storage of
    /// `storageCount` elements; nil when it does not (or when the arithmetic would overflow).
    private static func elementCount(of record: TensorRecord, within storageCount: Int) -> Int? {
        var count = 1
        var last = record.offset
        for (size, stride) in zip(record.size, record.stride) {
            guard stride >= 0 else { return nil }
            let product = count.multipliedReportingOverflow(by: size)
            let reach = stride.multipliedReportingOverflow(by: max(size - 1, 0))
            guard !product.overflow, !reach.overflow else { return nil }
            count = product.partialValue
            let sum = last.addingReportingOverflow(reach.partialValue)
            guard !sum.overflow else { return nil }
            last = sum.partialValue
        }
        guard count > 0 else { return 0 }
        return record.offset >= 0 && last < storageCount ? count : nil
    }
}

private struct Storage: Sendable {
    let kind: StorageKind
    let range: Range<Int>
}

enum StorageKind: Sendable {
    case float32, int64
    var elementSize: Int { self == .float32 ? 4 : 8 }
}

struct StorageReference: Hashable, Sendable {
    let kind: StorageKind
    let key: String
    let count: Int
}

struct TensorRecord: Hashable, Sendable {
    let storage: StorageReference
    let offset: Int
    let size: [Int]
    let stride: [Int]
}

/// The values the supported pickle subset can build.
enum PickleValue: Hashable, Sendable, CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// A LONG1 integer, kept as its little-endian two's-complement bytes (the file's magic
    /// number is wider than Int).
    case integerBytes([UInt8])
    case string(String)
    case tuple([PickleValue])
    case list([PickleValue])
    /// Ordered pairs: state dicts are `OrderedDict`s and the order of tensors is meaningful.
    case dict([Pair])
    case global(module: String, name: String)
    case storage(StorageReference)
    case tensor(TensorRecord)

    /// Like `description` but without looking into containers, so that describing a value
    /// built by a hostile file stays short.
    var brief: String {
        if case .tuple(let items) = self { return "tuple of \(items.count)" }
        return description
    }

    struct Pair: Hashable, Sendable {
        let key: PickleValue
        let value: PickleValue
    }

    var description: String {
        switch self {
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .integerBytes(let bytes): return "long(\(bytes.count) bytes)"
        case .string(let value): return "'\(value)'"
        case .tuple(let items): return "(\(items.map(\.brief).joined(separator: ", ")))"
        case .list(let items): return "[\(items.count) items]"
        case .dict(let pairs): return "{\(pairs.count) items}"
        case .global(let module, let name): return "\(module).\(name)"
        case .storage(let reference): return "storage \(reference.key)"
        case .tensor: return "tensor"
        }
    }
}

/// A pickle machine for protocol 2 restricted to what `torch.save` writes for a state dict.
///
/// Containers are values, not shared references: the memo keeps the container as it was when
/// memoised. Legacy torch files fill every container right after creating it and never fetch a
/// container back from the memo, so this is enough and keeps the machine simple.
///
/// Nesting is limited (torch files nest three deep): a hostile file could otherwise build values
/// so deeply nested that comparing or freeing them overflows the call stack.
struct PickleReader {
    let bytes: Data
    private(set) var offset = 0

    private static let maximumNesting = 16

    private static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.LongStorage",
    ]

    init(bytes: Data) {
        self.bytes = bytes
    }

    /// Runs one pickle up to its STOP opcode and returns the value it built.
    mutating func load() throws -> PickleValue {
        var stack = [PickleValue]()
        var depths = [Int]()  // of the values on the stack: 0 for scalars, 1 + deepest item for containers
        var marks = [Int]()
        var memo = [Int: (value: PickleValue, depth: Int)]()

        func push(_ value: PickleValue, depth: Int = 0) throws {
            guard depth <= Self.maximumNesting else { throw error("values nested more than \(Self.maximumNesting) deep") }
            stack.append(value)
            depths.append(depth)
        }
        func pushContainer(_ value: PickleValue, holding itemDepths: [Int]) throws {
            try push(value, depth: 1 + (itemDepths.max() ?? 0))
        }
        func pop() throws -> (value: PickleValue, depth: Int) {
            guard let value = stack.popLast(), let depth = depths.popLast() else { throw error("stack underflow") }
            return (value, depth)
        }
        func popToMark() throws -> (values: [PickleValue], depths: [Int]) {
            // Values below the mark may have been popped since; then the mark is meaningless.
            guard let mark = marks.popLast(), mark <= stack.count else { throw error("no valid MARK on the stack") }
            defer {
                stack.removeSubrange(mark...)
                depths.removeSubrange(mark...)
            }
            return (Array(stack[mark...]), Array(depths[mark...]))
        }

        while true {
            let opcodeOffset = offset
            let opcode = try readByte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try readByte()
                if version > 2 { throw error("pickle protocol \(version) is not supported", at: opcodeOffset) }
            case 0x2E:  // STOP
                guard stack.count == 1, marks.isEmpty else { throw error("STOP with \(stack.count) values on the stack", at: opcodeOffset) }
                return stack[0]
            case 0x28:  // MARK
                marks.append(stack.count)
            case 0x4E: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4B: try push(.int(Int(try readByte())))  // BININT1
            case 0x4D: try push(.int(Int(try readUInt(byteCount: 2))))  // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try readUInt(byteCount: 4)))))  // BININT
            case 0x8A:  // LONG1
                let length = Int(try readByte())
                try push(.integerBytes(Array(try read(length))))
            case 0x58:  // BINUNICODE
                let length = Int(try readUInt(byteCount: 4))
                guard let string = String(bytes: try read(length), encoding: .utf8) else {
                    throw error("string is not UTF-8", at: opcodeOffset)
                }
                try push(.string(string))
            case 0x63:  // GLOBAL
                let module = try readLine()
                let name = try readLine()
                guard Self.allowedGlobals.contains("\(module).\(name)") else {
                    throw error("global \(module).\(name) is not allowed", at: opcodeOffset)
                }
                try push(.global(module: module, name: name))
            case 0x71, 0x72:  // BINPUT, LONG_BINPUT
                let index = Int(opcode == 0x71 ? UInt64(try readByte()) : try readUInt(byteCount: 4))
                guard let value = stack.last, let depth = depths.last else { throw error("stack underflow", at: opcodeOffset) }
                memo[index] = (value, depth)
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let index = Int(opcode == 0x68 ? UInt64(try readByte()) : try readUInt(byteCount: 4))
                guard let entry = memo[index] else { throw error("memo \(index) is empty", at: opcodeOffset) }
                try push(entry.value, depth: entry.depth)
            case 0x29: try push(.tuple([]), depth: 1)  // EMPTY_TUPLE
            case 0x85:  // TUPLE1
                let only = try pop()
                try pushContainer(.tuple([only.value]), holding: [only.depth])
            case 0x86:  // TUPLE2
                let second = try pop(), first = try pop()
                try pushContainer(.tuple([first.value, second.value]), holding: [first.depth, second.depth])
            case 0x74:  // TUPLE
                let items = try popToMark()
                try pushContainer(.tuple(items.values), holding: items.depths)
            case 0x5D: try push(.list([]), depth: 1)  // EMPTY_LIST
            case 0x7D: try push(.dict([]), depth: 1)  // EMPTY_DICT
            case 0x65:  // APPENDS
                let items = try popToMark()
                let target = try pop()
                guard case .list(let list) = target.value else { throw error("APPENDS to a non-list", at: opcodeOffset) }
                try pushContainer(.list(list + items.values), holding: items.depths + [target.depth - 1])
            case 0x73, 0x75:  // SETITEM, SETITEMS
                let items: (values: [PickleValue], depths: [Int])
                if opcode == 0x73 {
                    let value = try pop(), key = try pop()
                    items = ([key.value, value.value], [key.depth, value.depth])
                } else {
                    items = try popToMark()
                }
                guard items.values.count.isMultiple(of: 2) else { throw error("odd number of values for SETITEMS", at: opcodeOffset) }
                let target = try pop()
                guard case .dict(var pairs) = target.value else { throw error("SETITEM on a non-dictionary", at: opcodeOffset) }
                for index in stride(from: 0, to: items.values.count, by: 2) {
                    let pair = PickleValue.Pair(key: items.values[index], value: items.values[index + 1])
                    if let existing = pairs.firstIndex(where: { $0.key == pair.key }) {
                        pairs[existing] = pair
                    } else {
                        pairs.append(pair)
                    }
                }
                try pushContainer(.dict(pairs), holding: items.depths + [target.depth - 1])
            case 0x51:  // BINPERSID
                try push(.storage(try storageReference(from: try pop().value, at: opcodeOffset)))
            case 0x52:  // REDUCE
                let arguments = try pop().value
                try push(try reduce(try pop().value, arguments, at: opcodeOffset))
            case 0x62:  // BUILD
                // Only the state dict's `_metadata` attribute (module versions) arrives this
                // way; nothing here needs it.
                _ = try pop()
                guard case .dict = stack.last else { throw error("BUILD on a non-dictionary", at: opcodeOffset) }
            default:
                throw error(String(format: "unsupported pickle opcode 0x%02X", opcode), at: opcodeOffset)
            }
        }
    }

    private func storageReference(from persistentID: PickleValue, at opcodeOffset: Int) throws -> StorageReference {
        guard case .tuple(let fields) = persistentID, fields.count >= 5,
            fields[0] == .string("storage"),
            case .global("torch", let typeName) = fields[1],
            case .string(let key) = fields[2],
            case .string("cpu") = fields[3],
            case .int(let count) = fields[4], count >= 0
        else { throw error("persistent id \(persistentID) is not a CPU storage", at: opcodeOffset) }
        switch typeName {
        case "FloatStorage": return StorageReference(kind: .float32, key: key, count: count)
        case "LongStorage": return StorageReference(kind: .int64, key: key, count: count)
        default: throw error("storage type \(typeName) is not supported", at: opcodeOffset)
        }
    }

    private func reduce(_ callable: PickleValue, _ arguments: PickleValue, at opcodeOffset: Int) throws -> PickleValue {
        switch (callable, arguments) {
        case (.global("collections", "OrderedDict"), .tuple([])):
            return .dict([])
        case (.global("torch._utils", "_rebuild_tensor_v2"), .tuple(let fields)):
            guard fields.count == 6,
                case .storage(let storage) = fields[0],
                case .int(let offset) = fields[1],
                case .tuple(let sizeValues) = fields[2],
                case .tuple(let strideValues) = fields[3],
                let size = Self.integers(sizeValues), let stride = Self.integers(strideValues),
                size.count == stride.count, size.allSatisfy({ $0 >= 0 })
            else { throw error("malformed _rebuild_tensor_v2 arguments", at: opcodeOffset) }
            return .tensor(TensorRecord(storage: storage, offset: offset, size: size, stride: stride))
        default:
            throw error("cannot call \(callable) with \(arguments)", at: opcodeOffset)
        }
    }

    private static func integers(_ values: [PickleValue]) -> [Int]? {
        var result = [Int]()
        for value in values {
            guard case .int(let integer) = value else { return nil }
            result.append(integer)
        }
        return result
    }

    private mutating func readByte() throws -> UInt8 {
        guard offset < bytes.count else { throw error("unexpected end of file") }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func read(_ count: Int) throws -> Data {
        guard count <= bytes.count - offset else { throw error("unexpected end of file") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    private mutating func readUInt(byteCount: Int) throws -> UInt64 {
        try read(byteCount).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func readLine() throws -> String {
        guard let newline = bytes[offset...].firstIndex(of: 0x0A) else { throw error("unterminated GLOBAL name") }
        let line = String(decoding: bytes[offset..<newline], as: UTF8.self)
        offset = newline + 1
        return line
    }

    private func error(_ reason: String, at position: Int? = nil) -> TorchFileError {
        TorchFileError(reason: "\(reason) (pickle byte \(position ?? offset))")
    }
}

extension Data {
    fileprivate func littleEndianInt64(at offset: Int) -> Int64? {
        guard offset >= 0, offset + 8 <= count else { return nil }
        return withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
    }
}

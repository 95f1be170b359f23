import CRabbitMQ
import Foundation

/// A message header or argument value. AMQP tables can hold more kinds (arrays, nested tables,
/// decimals, timestamps); bookrec needs only these, and reading skips the others.
public enum HeaderValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case bool(Bool)

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .bool(let value): return String(value)
        }
    }
}

/// Copies of Swift values in C memory, kept alive as long as the arena for a rabbitmq-c call
/// that takes `amqp_bytes_t` or `amqp_table_t` (the library only borrows them).
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        allocations.forEach { $0.deallocate() }
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        bytes(Data(string.utf8))
    }

    func bytes(_ data: Data) -> amqp_bytes_t {
        guard !data.isEmpty else { return amqp_empty_bytes }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: data.count, alignment: 1)
        data.copyBytes(to: memory.assumingMemoryBound(to: UInt8.self), count: data.count)
        allocations.append(memory)
        return amqp_bytes_t(len: data.count, bytes: memory)
    }

    func table(_ fields: [String: HeaderValue]) -> amqp_table_t {
        guard !fields.isEmpty else { return amqp_empty_table }
        let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: fields.count)
        allocations.append(UnsafeMutableRawPointer(entries))
        for (index, (key, value)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            var field = amqp_field_value_t()
            switch value {
            case .string(let string):
                field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                field.value.bytes = bytes(string)
            case .int(let int):
                field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
                field.value.i64 = int
            case .bool(let bool):
                field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
                field.value.boolean = bool ? 1 : 0
            }
            (entries + index).initialize(to: amqp_table_entry_t(key: bytes(key), value: field))
        }
        return amqp_table_t(num_entries: Int32(fields.count), entries: entries)
    }
}

extension amqp_bytes_t {
    /// A copy: the library's buffers are reused once its pools are released.
    var data: Data {
        guard let bytes, len > 0 else { return Data() }
        return Data(bytes: bytes, count: len)
    }

    var string: String {
        guard let bytes, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}

extension amqp_table_t {
    /// The entries whose kinds `HeaderValue` covers.
    var headerValues: [String: HeaderValue] {
        var values: [String: HeaderValue] = [:]
        for index in 0..<Int(num_entries) {
            let entry = entries[index]
            if let value = HeaderValue(entry.value) { values[entry.key.string] = value }
        }
        return values
    }
}

extension HeaderValue {
    init?(_ field: amqp_field_value_t) {
        switch UInt32(field.kind) {
        case AMQP_FIELD_KIND_UTF8.rawValue, AMQP_FIELD_KIND_BYTES.rawValue: self = .string(field.value.bytes.string)
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: self = .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: self = .int(Int64(field.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: self = .int(Int64(field.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: self = .int(Int64(field.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: self = .int(Int64(field.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: self = .int(Int64(field.value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: self = .int(Int64(field.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: self = .int(field.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: self = .int(Int64(truncatingIfNeeded: field.value.u64))
        default: return nil
        }
    }
}

import CLibPQ
import Foundation

/// A failed statement or connection, with PostgreSQL's SQLSTATE when the server sent one.
struct PostgresError: Error, CustomStringConvertible {
    let message: String
    let sqlState: String?
    /// The connection is gone (server restarted, link cut, connection refused).
    let connectionLost: Bool

    var description: String {
        let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        return sqlState.map { "\(text) (SQLSTATE \($0))" } ?? text
    }

    /// Worth running the whole transaction again: the connection was lost or refused, the server
    /// is shutting down or starting, or a concurrent transaction won a serialization conflict.
    var isTransient: Bool {
        if connectionLost { return true }
        guard let sqlState else { return false }
        // 08: connection exceptions; 40001 serialization failure, 40P01 deadlock; 57P01-57P03
        // admin or crash shutdown, cannot connect now; 53300 too many connections.
        return sqlState.hasPrefix("08") || ["40001", "40P01", "57P01", "57P02", "57P03", "53300"].contains(sqlState)
    }
}

/// A statement parameter, sent in PostgreSQL's text format, or as bytes in its binary format
/// (bytea, and the binary arrays of `PostgresArray`).
enum PostgresValue {
    case text(String)
    case bytes(Data)
    case null
}

protocol PostgresParameter {
    var postgresValue: PostgresValue { get }
}

extension Int: PostgresParameter { var postgresValue: PostgresValue { .text(String(self)) } }
extension String: PostgresParameter { var postgresValue: PostgresValue { .text(self) } }
extension Data: PostgresParameter { var postgresValue: PostgresValue { .bytes(self) } }
extension Date: PostgresParameter {
    /// ISO 8601 in UTC to the microsecond, as timestamptz reads it.
    var postgresValue: PostgresValue {
        let microseconds = Int64((timeIntervalSince1970 * 1e6).rounded())
        var seconds = time_t(microseconds.quotientAndRemainder(dividingBy: 1_000_000).quotient)
        var fraction = microseconds % 1_000_000
        if fraction < 0 {
            seconds -= 1
            fraction += 1_000_000
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return .text(String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
            parts.tm_min, parts.tm_sec, Int32(fraction)))
    }
}

extension Optional: PostgresParameter where Wrapped: PostgresParameter {
    var postgresValue: PostgresValue { self?.postgresValue ?? .null }
}

/// An array parameter, for `unnest($1::bigint[])` and `= ANY($1::bigint[])`: one statement
/// carries a whole batch of rows. Numbers and bytes go in PostgreSQL's binary array format; text
/// and arrays with NULLs in its text format (`{"a","b"}`, `{1,NULL}`).
struct PostgresArray: PostgresParameter {
    let postgresValue: PostgresValue

    /// `bigint[]`, binary.
    init(_ values: [Int]) { postgresValue = .bytes(Self.binary(values.map { Int64($0).bigEndian }, elementType: 20)) }
    init(_ values: [Int?]) { postgresValue = .text("{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}") }
    /// `float8[]`, binary: no decimal text to write and read back.
    init(_ values: [Double]) { postgresValue = .bytes(Self.binary(values.map { $0.bitPattern.bigEndian }, elementType: 701)) }
    init(_ values: [String]) { postgresValue = .text("{" + values.map(Self.quoted).joined(separator: ",") + "}") }
    /// `bytea[]`, binary (vectors are most of a batch's bytes; no hex).
    init(_ values: [Data]) {
        var bytes = Self.header(count: values.count, elementType: 17, capacity: values.reduce(0) { $0 + 4 + $1.count })
        for value in values {
            withUnsafeBytes(of: Int32(value.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(value)
        }
        postgresValue = .bytes(bytes)
    }

    /// PostgreSQL's binary array format of one dimension without NULLs: dimensions, element type,
    /// then each element's length and big-endian bytes.
    private static func binary<T: FixedWidthInteger>(_ bigEndianValues: [T], elementType: Int32) -> Data {
        var bytes = header(count: bigEndianValues.count, elementType: elementType, capacity: bigEndianValues.count * (4 + MemoryLayout<T>.size))
        let length = Int32(MemoryLayout<T>.size).bigEndian
        for value in bigEndianValues {
            withUnsafeBytes(of: length) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    private static func header(count: Int, elementType: Int32, capacity: Int) -> Data {
        var bytes = Data(capacity: 20 + capacity)
        for field in [1, 0, elementType, Int32(count), 1] as [Int32] {  // one dimension, no NULL, type, size, lower bound
            withUnsafeBytes(of: field.bigEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    private static func quoted(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// The rows of a query, in PostgreSQL's binary format, read by column position.
final class PostgresRows {
    private let result: OpaquePointer
    let count: Int

    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
    }

    deinit { PQclear(result) }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    private func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(row), Int32(column)), count: Int(PQgetlength(result, Int32(row), Int32(column))))
    }

    private func bigEndian<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, as: T.Type) -> T {
        var value: T = 0
        for byte in bytes { value = value << 8 | T(byte) }
        return value
    }

    func int(_ row: Int, _ column: Int) -> Int {
        let raw = bytes(row, column)
        switch PQftype(result, Int32(column)) {
        case 20: return Int(bigEndian(raw, as: Int64.self))  // int8
        case 23: return Int(bigEndian(raw, as: Int32.self))  // int4
        case 21: return Int(bigEndian(raw, as: Int16.self))  // int2
        default: preconditionFailure("column \(column) is not an integer column (type \(PQftype(result, Int32(column))))")
        }
    }

    func optionalInt(_ row: Int, _ column: Int) -> Int? { isNull(row, column) ? nil : int(row, column) }

    func double(_ row: Int, _ column: Int) -> Double {
        precondition(PQftype(result, Int32(column)) == 701, "column \(column) is not a double precision column")
        return Double(bitPattern: bigEndian(bytes(row, column), as: UInt64.self))
    }

    func optionalDouble(_ row: Int, _ column: Int) -> Double? { isNull(row, column) ? nil : double(row, column) }

    func string(_ row: Int, _ column: Int) -> String { String(decoding: bytes(row, column), as: UTF8.self) }

    func optionalString(_ row: Int, _ column: Int) -> String? { isNull(row, column) ? nil : string(row, column) }

    func data(_ row: Int, _ column: Int) -> Data { Data(bytes(row, column)) }

    func floats(_ row: Int, _ column: Int) -> [Float] {
        let raw = bytes(row, column)
        return [Float](unsafeUninitializedCapacity: raw.count / 4) { buffer, initialized in
            _ = raw.prefix(raw.count / 4 * 4).copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            initialized = raw.count / 4
        }
    }

    func bool(_ row: Int, _ column: Int) -> Bool { bytes(row, column).first == 1 }

    /// A timestamptz: microseconds since 2000-01-01 UTC.
    func date(_ row: Int, _ column: Int) -> Date {
        precondition(PQftype(result, Int32(column)) == 1184, "column \(column) is not a timestamptz column")
        return Date(timeIntervalSince1970: 946_684_800 + Double(bigEndian(bytes(row, column), as: Int64.self)) / 1e6)
    }

    func optionalDate(_ row: Int, _ column: Int) -> Date? { isNull(row, column) ? nil : date(row, column) }
}

/// One libpq connection. Not thread-safe: `PostgresPool` hands it to one caller at a time.
final class PostgresConnection {
    private let connection: OpaquePointer

    init(url: PostgresURL, applicationName: String, readOnly: Bool) throws {
        let keywords = url.connectionKeywords(applicationName: applicationName, readOnly: readOnly)
        var names = keywords.map { strdup($0.0) }
        var values = keywords.map { strdup($0.1) }
        defer { (names + values).forEach { free($0) } }
        names.append(nil)
        values.append(nil)
        let opened = names.withUnsafeBufferPointer { namePointers in
            values.withUnsafeBufferPointer { valuePointers in
                namePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { n in
                    valuePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { v in
                        PQconnectdbParams(n.baseAddress, v.baseAddress, 0)
                    }
                }
            }
        }
        guard let opened else { throw PostgresError(message: "out of memory connecting to \(url)", sqlState: nil, connectionLost: true) }
        guard PQstatus(opened) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(opened))
            PQfinish(opened)
            // A server that is down, starting or out of reach may come back; a refusal of who we are will not.
            let refused = Self.refusals.contains { message.contains($0) }
            throw PostgresError(message: "cannot connect to \(url): \(message)", sqlState: nil, connectionLost: !refused)
        }
        connection = opened
        // Warnings such as "there is no transaction in progress" would go to stderr otherwise.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit { PQfinish(connection) }

    /// What libpq says when the server refuses the credentials, the database or the TLS settings.
    static let refusals = [
        "password authentication failed", "no password supplied", "does not exist", "no pg_hba.conf entry", "SSL", "certificate",
        "permission denied",
    ]

    var isBroken: Bool { PQstatus(connection) != CONNECTION_OK }

    /// Runs one statement; `$1`, `$2`, … are `parameters`. Rows come back in binary format.
    @discardableResult
    func query(_ sql: String, _ parameters: [any PostgresParameter] = []) throws -> PostgresRows {
        // Each parameter's bytes, length and format (0 text, NUL-terminated; 1 binary).
        var buffers: [Data?] = [], lengths: [Int32] = [], formats: [Int32] = []
        for parameter in parameters {
            let (buffer, length, format): (Data?, Int32, Int32) = switch parameter.postgresValue {
            case .text(let text): (Data(text.utf8) + [0], 0, 0)
            case .bytes(let bytes): (bytes, Int32(bytes.count), 1)
            case .null: (nil, 0, 0)
            }
            buffers.append(buffer)
            lengths.append(length)
            formats.append(format)
        }
        let result: OpaquePointer? = withPointers(to: &buffers) { pointers in
            PQexecParams(connection, sql, Int32(parameters.count), nil, pointers, lengths, formats, 1)
        }
        guard let result else { throw failure() }
        return try check(result)
    }

    private func check(_ result: OpaquePointer) throws -> PostgresRows {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return PostgresRows(result)
        default:
            let message = String(cString: PQresultErrorMessage(result))
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            PQclear(result)
            throw PostgresError(message: message.isEmpty ? String(cString: PQerrorMessage(connection)) : message, sqlState: state, connectionLost: isBroken)
        }
    }

    /// Runs statements separated by semicolons, without parameters (a migration).
    func execute(script: String) throws {
        guard let result = PQexec(connection, script) else { throw failure() }
        _ = try check(result)
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(readOnly: Bool = false, _ body: () throws -> T) throws -> T {
        try query(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            if !isBroken { _ = try? query("ROLLBACK") }
            throw error
        }
    }

    private func failure() -> PostgresError {
        PostgresError(message: String(cString: PQerrorMessage(connection)), sqlState: nil, connectionLost: isBroken)
    }

    /// The parameters' bytes as the C pointers PQexecParams takes, valid during `body`.
    private func withPointers<R>(to buffers: inout [Data?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        func nest(_ index: Int, _ pointers: [UnsafePointer<CChar>?]) -> R {
            guard index < buffers.count else { return body(pointers) }
            guard let buffer = buffers[index] else { return nest(index + 1, pointers + [nil]) }
            return buffer.withUnsafeBytes { raw in
                nest(index + 1, pointers + [raw.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1)])
            }
        }
        return nest(0, [])
    }
}

/// The connections of one store, each handed to one caller at a time; a broken one is dropped
/// and the next caller gets a fresh one.
final class PostgresPool: @unchecked Sendable {
    private let url: PostgresURL
    private let readOnly: Bool
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []

    init(url: PostgresURL, readOnly: Bool) {
        self.url = url
        self.readOnly = readOnly
    }

    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try lock.withLock { idle.popLast() } ?? PostgresConnection(url: url, applicationName: "bookrec", readOnly: readOnly)
        defer {
            if !connection.isBroken { lock.withLock { idle.append(connection) } }
        }
        return try body(connection)
    }
}

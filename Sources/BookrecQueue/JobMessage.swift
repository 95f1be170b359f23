import Foundation

/// A job as it travels through the queue: versioned JSON, e.g.
///
///     {"schema_version": 1, "job_id": "g3-encode-0007", "generation": 3, "kind": "encode",
///      "shard": {"index": 7, "ids": [700, 701, 702]}, "attempt": 1, "parameters": {}}
///
/// `attempt` is the coordinator's dispatch round (1 when first published; it increments it when
/// it publishes a job again whose results never arrived). Redeliveries after transient failures
/// are counted separately by the queue, in the `x-bookrec-attempt` header (`Delivery.attempt`).
/// `parameters` carries job-specific settings as strings, so the schema need not change for them.
public struct JobMessage: Codable, Equatable, Sendable {
    public static let schemaVersion = 1
    /// Larger bodies are refused unread: a shard id list this long is a bug, not a job.
    public static let maxBodySize = 1 << 20

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case encode, train, score
    }

    /// A slice of the catalog: its position among the generation's shards and the item ids in it.
    /// Whether the ids exist in the catalog is the worker's check, not the message's.
    public struct Shard: Codable, Equatable, Sendable {
        public var index: Int
        public var ids: [Int]

        public init(index: Int, ids: [Int]) {
            self.index = index
            self.ids = ids
        }
    }

    public var jobID: String
    public var generation: Int
    public var kind: Kind
    public var shard: Shard
    public var attempt: Int
    public var parameters: [String: String]

    public init(jobID: String, generation: Int, kind: Kind, shard: Shard, attempt: Int = 1, parameters: [String: String] = [:]) {
        self.jobID = jobID
        self.generation = generation
        self.kind = kind
        self.shard = shard
        self.attempt = attempt
        self.parameters = parameters
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case jobID = "job_id"
        case generation, kind, shard, attempt, parameters
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jobID = try container.decode(String.self, forKey: .jobID)
        generation = try container.decode(Int.self, forKey: .generation)
        let kindName = try container.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindName) else { throw PoisonMessage.unknownKind(kindName) }
        self.kind = kind
        shard = try container.decode(Shard.self, forKey: .shard)
        attempt = try container.decode(Int.self, forKey: .attempt)
        parameters = try container.decodeIfPresent([String: String].self, forKey: .parameters) ?? [:]
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schemaVersion, forKey: .schemaVersion)
        try container.encode(jobID, forKey: .jobID)
        try container.encode(generation, forKey: .generation)
        try container.encode(kind, forKey: .kind)
        try container.encode(shard, forKey: .shard)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(parameters, forKey: .parameters)
    }

    /// The message body: JSON with sorted keys.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Parses and validates a delivered job. A body larger than `maxBodySize` is refused by the
    /// size the broker announced (the consumer kept only an excerpt of it).
    public static func decode(_ delivery: Delivery) throws -> JobMessage {
        guard delivery.bodySize <= maxBodySize else { throw PoisonMessage.oversized(bytes: delivery.bodySize, limit: maxBodySize) }
        return try decode(body: delivery.body)
    }

    /// Parses and validates a message body. Throws `PoisonMessage` saying precisely what is wrong:
    /// such a message can never succeed, and belongs on the dead-letter queue.
    public static func decode(body: Data) throws -> JobMessage {
        guard body.count <= maxBodySize else { throw PoisonMessage.oversized(bytes: body.count, limit: maxBodySize) }
        let decoder = JSONDecoder()
        do {
            // The version first: another version may have other fields, and "missing field" would mislead.
            let version = try decoder.decode(VersionProbe.self, from: body).schemaVersion
            guard version == schemaVersion else { throw PoisonMessage.unsupportedSchemaVersion(version) }
            let job = try decoder.decode(JobMessage.self, from: body)
            try job.validate()
            return job
        } catch let error as DecodingError {
            throw PoisonMessage(error)
        }
    }

    private struct VersionProbe: Decodable {
        let schemaVersion: Int
        enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version" }
    }

    private func validate() throws {
        guard !jobID.isEmpty else { throw PoisonMessage.invalidValue(field: "job_id", reason: "is empty") }
        guard generation >= 0 else { throw PoisonMessage.invalidValue(field: "generation", reason: "is negative (\(generation))") }
        guard attempt >= 1 else { throw PoisonMessage.invalidValue(field: "attempt", reason: "must be at least 1 (\(attempt))") }
        guard shard.index >= 0 else { throw PoisonMessage.invalidValue(field: "shard.index", reason: "is negative (\(shard.index))") }
        guard !shard.ids.isEmpty else { throw PoisonMessage.emptyIDList }
        if let negative = shard.ids.first(where: { $0 < 0 }) { throw PoisonMessage.negativeID(negative) }
        var seen = Set<Int>()
        if let duplicate = shard.ids.first(where: { !seen.insert($0).inserted }) { throw PoisonMessage.duplicateID(duplicate) }
    }
}

/// Why a job message can never be processed. Its `description` is the dead-letter reason.
public enum PoisonMessage: Error, Equatable, CustomStringConvertible {
    case oversized(bytes: Int, limit: Int)
    case malformedJSON(String)
    case unsupportedSchemaVersion(Int)
    case missingField(String)
    case wrongType(field: String, expected: String)
    case unknownKind(String)
    case invalidValue(field: String, reason: String)
    case emptyIDList
    case negativeID(Int)
    case duplicateID(Int)

    public var description: String {
        switch self {
        case .oversized(let bytes, let limit): return "poison message: body of \(bytes) bytes exceeds the limit of \(limit)"
        case .malformedJSON(let detail): return "poison message: malformed JSON: \(detail)"
        case .unsupportedSchemaVersion(let version):
            return "poison message: unsupported schema_version \(version) (this build reads \(JobMessage.schemaVersion))"
        case .missingField(let field): return "poison message: missing field \(field)"
        case .wrongType(let field, let expected): return "poison message: field \(field) is not \(expected)"
        case .unknownKind(let kind):
            return "poison message: unknown kind '\(kind)' (expected \(JobMessage.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidValue(let field, let reason): return "poison message: field \(field) \(reason)"
        case .emptyIDList: return "poison message: shard.ids is empty"
        case .negativeID(let id): return "poison message: shard.ids holds the negative id \(id)"
        case .duplicateID(let id): return "poison message: shard.ids holds id \(id) more than once"
        }
    }

    init(_ error: DecodingError) {
        func path(_ context: DecodingError.Context, adding key: CodingKey? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            self = .missingField(path(context, adding: key))
        case .valueNotFound(let type, let context):
            self = .wrongType(field: path(context), expected: Self.typeName(type))
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            self = .malformedJSON("the top level is not a JSON object")
        case .typeMismatch(let type, let context):
            self = .wrongType(field: path(context), expected: Self.typeName(type))
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            self = .malformedJSON(underlying ?? context.debugDescription)
        @unknown default:
            self = .malformedJSON(String(describing: error))
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is String.Type: return "a string"
        case is [Int].Type: return "an array of integers"
        default: return "of type \(type)"
        }
    }
}

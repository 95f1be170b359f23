import BookrecCore
import Foundation

/// Which encoder serves each modality. The light ones need no files; the pretrained ones need
/// the weights that scripts/setup.sh installs under models/.
public enum TextEncoderChoice: String, Codable, Sendable, CaseIterable {
    case hashing, minilm
}

public enum CoverEncoderChoice: String, Codable, Sendable, CaseIterable {
    case grid, efficientnet
}

/// Everything that determines a generation's results; stored with it, so that a resumed run
/// continues the same work and a different configuration starts a new generation.
public struct RunConfiguration: Codable, Equatable, Sendable {
    public var model = ModelConfiguration()
    public var textEncoder = TextEncoderChoice.hashing
    public var coverEncoder = CoverEncoderChoice.grid
    public var hashingDimension = 2048
    /// Books per encode job and readers per score job: small enough that a job stays far inside
    /// RabbitMQ's consumer timeout, large enough that queue overhead is negligible.
    public var encodeShardSize = 500
    public var scoreShardSize = 2000
    /// Rows (readers or books) per train job, an iALS round's slice. At 2,048 a round of the
    /// bundled data is 27 reader jobs or 5 book jobs: enough to keep a few workers busy to the
    /// round's end, few enough that a job's fixed costs (a message, a blob written, a shard
    /// marked done) stay small beside a solve that takes milliseconds (docs/PERFORMANCE.md:
    /// two workers' rounds took 4.6 s at 2,048 against 5.4 s at 1,024).
    public var trainShardSize = 2048
    /// Books kept per reader; `bookrec-query export -k` serves up to this many.
    public var storedTopK = 50

    public init() {}

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    public static func decoded(_ data: Data) throws -> RunConfiguration {
        try JSONDecoder().decode(RunConfiguration.self, from: data)
    }
}

/// Splits ids into consecutive shards of at most `size`.
public func shards(of ids: [Int], size: Int) -> [[Int]] {
    stride(from: 0, to: ids.count, by: max(size, 1)).map { Array(ids[$0..<min($0 + size, ids.count)]) }
}

import Foundation

/// Feature hashing of words and adjacent word pairs, TF-IDF weighted and L2-normalised.
///
/// Needs no files, so tests and the demo run anywhere. Hashing is FNV-1a (Swift's `Hasher` is
/// seeded per process and would make vectors differ between workers). Each feature also hashes a
/// sign, so that collisions cancel out on average instead of piling up.
public struct HashingTextEncoder: Encoder {
    public typealias Input = String

    public let dimension: Int
    /// Inverse document frequency per bucket, fitted on a catalog; nil means plain TF.
    public let inverseDocumentFrequency: [Float]?

    public init(dimension: Int = 2048, inverseDocumentFrequency: [Float]? = nil) {
        precondition(dimension > 0)
        precondition(inverseDocumentFrequency.map { $0.count == dimension } ?? true, "IDF table size differs from the dimension")
        self.dimension = dimension
        self.inverseDocumentFrequency = inverseDocumentFrequency
    }

    /// Fits IDF = ln((N + 1) / (df + 1)) + 1 on a corpus, per hash bucket.
    public static func fitted(on corpus: [String], dimension: Int = 2048) -> HashingTextEncoder {
        var documentFrequency = [Int](repeating: 0, count: dimension)
        for text in corpus {
            for bucket in Set(features(of: text).map { bucket(of: $0, dimension: dimension).index }) {
                documentFrequency[bucket] += 1
            }
        }
        let n = Float(corpus.count)
        let idf = documentFrequency.map { logf((n + 1) / (Float($0) + 1)) + 1 }
        return HashingTextEncoder(dimension: dimension, inverseDocumentFrequency: idf)
    }

    /// The version changes with the IDF table, so vectors cached under another table are not reused.
    public var identity: EncoderIdentity {
        var digest = FNV1a()
        digest.add(UInt64(dimension))
        for value in inverseDocumentFrequency ?? [] { digest.add(UInt64(value.bitPattern)) }
        return EncoderIdentity(name: "hashing-text", version: "1-\(String(digest.value, radix: 16))")
    }

    public func encode(_ batch: [String]) -> Matrix {
        var result = Matrix(rows: batch.count, columns: dimension)
        for (row, text) in batch.enumerated() {
            result.setRow(row, vector(for: text))
        }
        return result
    }

    public func vector(for text: String) -> [Float] {
        var termFrequency: [Int: (count: Int, sign: Float)] = [:]
        for feature in Self.features(of: text) {
            let (index, sign) = Self.bucket(of: feature, dimension: dimension)
            termFrequency[index, default: (0, sign)].count += 1
        }
        var vector = [Float](repeating: 0, count: dimension)
        for (index, entry) in termFrequency {
            let tf = 1 + logf(Float(entry.count))
            vector[index] += entry.sign * tf * (inverseDocumentFrequency?[index] ?? 1)
        }
        normalize(&vector)
        return vector
    }

    /// Lower-cased alphanumeric words and each pair of neighbouring words ("harry potter").
    static func features(of text: String) -> [String] {
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
        var features = words
        if words.count > 1 {
            for i in 0..<(words.count - 1) { features.append(words[i] + " " + words[i + 1]) }
        }
        return features
    }

    static func bucket(of feature: String, dimension: Int) -> (index: Int, sign: Float) {
        var hash = FNV1a()
        for byte in feature.utf8 { hash.add(byte) }
        let value = hash.value
        return (Int(value % UInt64(dimension)), (value >> 63) == 0 ? 1 : -1)
    }
}

/// 64-bit FNV-1a: stable across processes and machines, unlike `Hasher`.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    public mutating func add(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { add(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }
    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 {
        for byte in bytes { add(byte) }
    }
}

/// Scales a vector to unit L2 norm; the zero vector stays zero.
public func normalize(_ vector: inout [Float]) {
    var sum: Float = 0
    for value in vector { sum += value * value }
    guard sum > 0 else { return }
    let scale = 1 / sum.squareRoot()
    for i in vector.indices { vector[i] *= scale }
}

import BookrecCore
import COpenBLAS
import Foundation

public enum MiniLMError: Error, Equatable, CustomStringConvertible {
    case vocabularyMismatch(vocabularyLines: Int, embeddingRows: Int)
    case emptySequence(index: Int)
    case sequenceTooLong(index: Int, length: Int, limit: Int)
    case tokenIDOutOfRange(index: Int, id: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .vocabularyMismatch(let lines, let rows):
            return "MiniLM: vocab.txt has \(lines) pieces but the word embeddings have \(rows) rows"
        case .emptySequence(let index):
            return "MiniLM: sequence \(index) has no token ids"
        case .sequenceTooLong(let index, let length, let limit):
            return "MiniLM: sequence \(index) has \(length) ids, the model takes at most \(limit)"
        case .tokenIDOutOfRange(let index, let id, let size):
            return "MiniLM: sequence \(index) holds id \(id), outside the vocabulary of \(size)"
        }
    }
}

/// The all-MiniLM-L6-v2 network: a 6-layer post-LayerNorm BERT encoder followed by mean pooling
/// and L2 normalisation (sentence-transformers' Transformer → Pooling → Normalize).
///
/// A batch is packed, not padded: the token rows of all sequences are stacked so that each linear
/// layer is one sgemm over real tokens only, and attention runs per sequence. That is what a padded
/// batch with an attention mask computes, without the masked rows.
public struct MiniLMModel: Sendable {
    public static let hiddenSize = 384
    static let layerCount = 6
    static let headCount = 12
    static let headSize = 32
    static let intermediateSize = 1536
    public static let maxPositions = 512

    /// Batches are run in slices of at most this many tokens (a longer single sequence still runs
    /// whole). The default bounds the [tokens, 1536] intermediate activations to 25 MB whatever
    /// the caller hands in, while each slice is large enough to keep sgemm efficient.
    public var maxTokensPerPass = 4096

    public let vocabularySize: Int
    private let wordEmbeddings: Matrix
    private let positionEmbeddings: Matrix
    /// Row 0 of the token type table: every id has token type 0.
    private let tokenTypeEmbedding: [Float]
    private let embeddingNorm: LayerNorm
    private let layers: [Layer]

    public init(weights: Safetensors) throws {
        let h = Self.hiddenSize
        let wordName = "embeddings.word_embeddings.weight"
        vocabularySize = weights.tensors[wordName]?.shape.first ?? 0
        wordEmbeddings = Matrix(
            rows: vocabularySize, columns: h, values: try weights.floats(wordName, shape: [vocabularySize, h]))
        positionEmbeddings = Matrix(
            rows: Self.maxPositions, columns: h,
            values: try weights.floats("embeddings.position_embeddings.weight", shape: [Self.maxPositions, h]))
        tokenTypeEmbedding = Array(try weights.floats("embeddings.token_type_embeddings.weight", shape: [2, h])[..<h])
        embeddingNorm = try LayerNorm(weights, "embeddings.LayerNorm", size: h)
        layers = try (0..<Self.layerCount).map { try Layer(weights, "encoder.layer.\($0)") }
    }

    /// One L2-normalised 384-d sentence embedding per id sequence.
    public func sentenceEmbeddings(_ sequences: [[Int32]]) throws -> Matrix {
        try validate(sequences)
        var embeddings = Matrix(rows: sequences.count, columns: Self.hiddenSize)
        var first = 0
        while first < sequences.count {
            var end = first
            var tokens = 0
            while end < sequences.count, end == first || tokens + sequences[end].count <= maxTokensPerPass {
                tokens += sequences[end].count
                end += 1
            }
            let slice = sequences[first..<end]
            let hidden = lastHiddenState(slice)
            meanPoolAndNormalize(hidden, lengths: slice.map(\.count), into: &embeddings, firstRow: first)
            first = end
        }
        return embeddings
    }

    /// The hidden states of one sequence, [ids, 384] each: index 0 after the embedding LayerNorm,
    /// index i after encoder layer i. For checking a port layer by layer against the reference.
    public func hiddenStates(_ ids: [Int32]) throws -> [Matrix] {
        try validate([ids])
        var states = [Matrix]()
        _ = lastHiddenState([ids][...]) { states.append($0) }
        return states
    }

    private func validate(_ sequences: [[Int32]]) throws {
        for (index, ids) in sequences.enumerated() {
            guard !ids.isEmpty else { throw MiniLMError.emptySequence(index: index) }
            guard ids.count <= Self.maxPositions else {
                throw MiniLMError.sequenceTooLong(index: index, length: ids.count, limit: Self.maxPositions)
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
                throw MiniLMError.tokenIDOutOfRange(index: index, id: bad, vocabularySize: vocabularySize)
            }
        }
    }

    /// Runs the encoder on validated sequences; `observe` sees the embedding output and each
    /// layer's output.
    private func lastHiddenState(_ sequences: ArraySlice<[Int32]>, observe: ((Matrix) -> Void)? = nil) -> Matrix {
        let lengths = sequences.map(\.count)
        let tokenCount = lengths.reduce(0, +)
        var hidden = embed(sequences, tokenCount: tokenCount)
        observe?(hidden)
        var qkv = Matrix(rows: tokenCount, columns: 3 * Self.hiddenSize)
        var context = Matrix(rows: tokenCount, columns: Self.hiddenSize)
        var projected = Matrix(rows: tokenCount, columns: Self.hiddenSize)
        var intermediate = Matrix(rows: tokenCount, columns: Self.intermediateSize)
        var scores = [Float](repeating: 0, count: lengths.max().map { $0 * $0 } ?? 0)
        for layer in layers {
            layer.queryKeyValue.apply(hidden, into: &qkv)
            Self.attend(qkv, lengths: lengths, into: &context, scores: &scores)
            layer.attentionOutput.apply(context, into: &projected)
            layer.attentionNorm.addAndNormalize(projected, into: &hidden)
            layer.intermediate.apply(hidden, into: &intermediate)
            geluInPlace(&intermediate.values)
            layer.output.apply(intermediate, into: &projected)
            layer.outputNorm.addAndNormalize(projected, into: &hidden)
            observe?(hidden)
        }
        return hidden
    }

    /// word[id] + position[i] + token_type[0], then LayerNorm.
    private func embed(_ sequences: ArraySlice<[Int32]>, tokenCount: Int) -> Matrix {
        let h = Self.hiddenSize
        var hidden = Matrix(rows: tokenCount, columns: h)
        hidden.values.withUnsafeMutableBufferPointer { out in
            wordEmbeddings.values.withUnsafeBufferPointer { words in
                positionEmbeddings.values.withUnsafeBufferPointer { positions in
                    tokenTypeEmbedding.withUnsafeBufferPointer { type in
                        var row = out.baseAddress!
                        for ids in sequences {
                            for (position, id) in ids.enumerated() {
                                let word = words.baseAddress! + Int(id) * h
                                let place = positions.baseAddress! + position * h
                                for c in 0..<h { row[c] = word[c] + place[c] + type[c] }
                                row += h
                            }
                        }
                    }
                }
            }
        }
        embeddingNorm.normalize(&hidden)
        return hidden
    }

    /// Multi-head self-attention per sequence: softmax(Q·Kᵀ/√32)·V for each of the 12 heads, read
    /// straight out of the fused [tokens, Q|K|V] matrix through sgemm's leading dimensions.
    private static func attend(_ qkv: Matrix, lengths: [Int], into context: inout Matrix, scores: inout [Float]) {
        let h = hiddenSize
        let stride = 3 * h
        let scale = 1 / Float(headSize).squareRoot()
        qkv.values.withUnsafeBufferPointer { qkv in
            context.values.withUnsafeMutableBufferPointer { context in
                scores.withUnsafeMutableBufferPointer { scores in
                    let s = scores.baseAddress!
                    var first = 0
                    for length in lengths {
                        let n = Int32(length)
                        for head in 0..<headCount {
                            let queries = qkv.baseAddress! + first * stride + head * headSize
                            let keys = queries + h
                            let values = queries + 2 * h
                            blas_sgemm(
                                BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_TRANS, n, n, Int32(headSize),
                                scale, queries, Int32(stride), keys, Int32(stride), 0, s, n)
                            for row in 0..<length { softmax(s + row * length, count: length) }
                            blas_sgemm(
                                BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_NO_TRANS, n, Int32(headSize), n,
                                1, s, n, values, Int32(stride), 0,
                                context.baseAddress! + first * h + head * headSize, Int32(h))
                        }
                        first += length
                    }
                }
            }
        }
    }

    /// Mean of each sequence's final token states (every id counts, [CLS] and [SEP] included),
    /// divided by its L2 norm, written to consecutive rows of `embeddings`.
    private func meanPoolAndNormalize(_ hidden: Matrix, lengths: [Int], into embeddings: inout Matrix, firstRow: Int) {
        let h = Self.hiddenSize
        hidden.values.withUnsafeBufferPointer { hidden in
            embeddings.values.withUnsafeMutableBufferPointer { embeddings in
                var token = hidden.baseAddress!
                var sum = [Double](repeating: 0, count: h)
                for (offset, length) in lengths.enumerated() {
                    for c in 0..<h { sum[c] = 0 }
                    for _ in 0..<length {
                        for c in 0..<h { sum[c] += Double(token[c]) }
                        token += h
                    }
                    let mean = sum.map { $0 / Double(length) }
                    // F.normalize's floor on the norm keeps an all-zero vector finite.
                    let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                    let out = embeddings.baseAddress! + (firstRow + offset) * h
                    for c in 0..<h { out[c] = Float(mean[c] / norm) }
                }
            }
        }
    }
}

/// y = x·W + b. PyTorch stores W as [out, in]; it is kept transposed to [in, out] because sgemm
/// on a plain row-major W is about 20% faster for the few-token batches of single queries.
private struct Linear: Sendable {
    let weight: Matrix
    let bias: [Float]

    init(_ weights: Safetensors, _ prefix: String, outputs: Int, inputs: Int) throws {
        let stored = try weights.floats("\(prefix).weight", shape: [outputs, inputs])
        weight = Matrix(rows: outputs, columns: inputs, values: stored).transposed
        bias = try weights.floats("\(prefix).bias", shape: [outputs])
    }

    /// Side by side, the outputs of several layers that read the same input, so that one sgemm
    /// serves them all.
    init(concatenating parts: [Linear]) {
        let inputs = parts[0].weight.rows
        let outputs = parts.reduce(0) { $0 + $1.weight.columns }
        var values = [Float]()
        values.reserveCapacity(inputs * outputs)
        for row in 0..<inputs {
            for part in parts { values += part.weight.row(row) }
        }
        weight = Matrix(rows: inputs, columns: outputs, values: values)
        bias = parts.flatMap(\.bias)
    }

    /// Each output row starts as the bias and sgemm adds x·W to it (β = 1): no pass of its own to
    /// clear the output and none to add the bias.
    func apply(_ input: Matrix, into output: inout Matrix) {
        let (rows, columns) = (output.rows, output.columns)
        output.values.withUnsafeMutableBufferPointer { out in
            bias.withUnsafeBufferPointer { bias in
                for r in 0..<rows { (out.baseAddress! + r * columns).update(from: bias.baseAddress!, count: columns) }
            }
        }
        gemm(input, weight, beta: 1, into: &output)
    }
}

/// LayerNorm over the 384 features of each row with BERT's epsilon of 1e-12.
private struct LayerNorm: Sendable {
    let gamma: [Float]
    let beta: [Float]
    static let epsilon = 1e-12

    init(_ weights: Safetensors, _ prefix: String, size: Int) throws {
        precondition(size.isMultiple(of: 8), "LayerNorm works on groups of eight features")
        gamma = try weights.floats("\(prefix).weight", shape: [size])
        beta = try weights.floats("\(prefix).bias", shape: [size])
    }

    func normalize(_ x: inout Matrix) {
        let (rows, columns) = (x.rows, x.columns)
        x.values.withUnsafeMutableBufferPointer { x in
            for r in 0..<rows { normalizeRow(x.baseAddress! + r * columns, count: columns) }
        }
    }

    /// hidden = LayerNorm(hidden + residualBranch): the post-LN residual connection.
    func addAndNormalize(_ branch: Matrix, into hidden: inout Matrix) {
        let (rows, columns) = (hidden.rows, hidden.columns)
        branch.values.withUnsafeBufferPointer { branch in
            hidden.values.withUnsafeMutableBufferPointer { hidden in
                for r in 0..<rows {
                    let row = hidden.baseAddress! + r * columns
                    let add = branch.baseAddress! + r * columns
                    for c in 0..<columns { row[c] += add[c] }
                    normalizeRow(row, count: columns)
                }
            }
        }
    }

    /// Eight lanes at a time (the 384 features are 48 groups): each lane sums 48 values in
    /// float32 and the lanes are added in Double, about 1e-8 of the row's magnitude from an
    /// all-Double sum.
    private func normalizeRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
        typealias Lanes = SIMD8<Float>
        let groups = count / Lanes.scalarCount
        let raw = UnsafeMutableRawPointer(row)
        let stride = MemoryLayout<Lanes>.stride
        var sum = Lanes()
        for g in 0..<groups { sum += raw.loadUnaligned(fromByteOffset: g * stride, as: Lanes.self) }
        let mean = Float(Self.laneTotal(sum) / Double(count))
        var squares = Lanes()
        for g in 0..<groups {
            let d = raw.loadUnaligned(fromByteOffset: g * stride, as: Lanes.self) - mean
            squares += d * d
        }
        let inverseDeviation = Float(1 / (Self.laneTotal(squares) / Double(count) + Self.epsilon).squareRoot())
        gamma.withUnsafeBytes { gamma in
            beta.withUnsafeBytes { beta in
                for g in 0..<groups {
                    let x = raw.loadUnaligned(fromByteOffset: g * stride, as: Lanes.self)
                    let scale = gamma.loadUnaligned(fromByteOffset: g * stride, as: Lanes.self)
                    let shift = beta.loadUnaligned(fromByteOffset: g * stride, as: Lanes.self)
                    raw.storeBytes(of: (x - mean) * inverseDeviation * scale + shift, toByteOffset: g * stride, as: Lanes.self)
                }
            }
        }
    }

    private static func laneTotal(_ lanes: SIMD8<Float>) -> Double {
        var total = 0.0
        for lane in 0..<8 { total += Double(lanes[lane]) }
        return total
    }
}

private struct Layer: Sendable {
    let queryKeyValue: Linear
    let attentionOutput: Linear
    let attentionNorm: LayerNorm
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm

    init(_ weights: Safetensors, _ prefix: String) throws {
        let h = MiniLMModel.hiddenSize
        let i = MiniLMModel.intermediateSize
        queryKeyValue = Linear(concatenating: try ["query", "key", "value"].map {
            try Linear(weights, "\(prefix).attention.self.\($0)", outputs: h, inputs: h)
        })
        attentionOutput = try Linear(weights, "\(prefix).attention.output.dense", outputs: h, inputs: h)
        attentionNorm = try LayerNorm(weights, "\(prefix).attention.output.LayerNorm", size: h)
        intermediate = try Linear(weights, "\(prefix).intermediate.dense", outputs: i, inputs: h)
        output = try Linear(weights, "\(prefix).output.dense", outputs: h, inputs: i)
        outputNorm = try LayerNorm(weights, "\(prefix).output.LayerNorm", size: h)
    }
}

/// The exact GELU, 0.5·x·(1 + erf(x/√2)) (the tanh approximation misses the reference by 4e-4),
/// with erf to within 4e-7 (`erf8`).
private func geluInPlace(_ values: inout [Float]) {
    let inverseRootTwo = Float(0.5).squareRoot()
    values.withUnsafeMutableBufferPointer { values in
        transformInLanes(values.baseAddress!, count: values.count) { x in 0.5 * x * (1 + erf8(x * inverseRootTwo)) }
    }
}

import Foundation

/// The co-attention of bookrec's original design document between a book's projected text
/// vector t′ and cover vector v′ (the personalised model in docs/ARCHITECTURE.md), with its
/// hand-derived backward pass.
///
/// S = t′v′ᵀ; A_t2v = softmax(S) by rows; A_v2t = softmax(Sᵀ) by rows;
/// t_fused = t′ + A_v2t·v′; v_fused = v′ + A_t2vᵀ·t′.
public struct CoAttention: Equatable, Sendable {
    public let text: [Float]
    public let cover: [Float]
    /// The two attention matrices, or empty when S = 0 (see `isUniform`).
    private let attention: (textToCover: [Float], coverToText: [Float])
    public let fusedText: [Float]
    public let fusedCover: [Float]

    public var dimension: Int { text.count }

    /// S = 0 when t′ or v′ is zero, as v′ is for most books (no cover, v = 0): every softmax is
    /// then uniform, and the fusion costs O(d) instead of O(d²) exponentials and memory.
    public var isUniform: Bool { attention.textToCover.isEmpty }

    /// d × d, row-major.
    public var textToCover: [Float] { isUniform ? uniformMatrix : attention.textToCover }
    /// d × d, row-major: row j is the softmax over i of S[i][j].
    public var coverToText: [Float] { isUniform ? uniformMatrix : attention.coverToText }

    private var uniformMatrix: [Float] { [Float](repeating: 1 / Float(dimension), count: dimension * dimension) }

    public static func == (lhs: CoAttention, rhs: CoAttention) -> Bool {
        lhs.text == rhs.text && lhs.cover == rhs.cover
    }

    public init(text: [Float], cover: [Float]) {
        precondition(text.count == cover.count, "t′ and v′ must have the same dimension")
        let d = text.count
        self.text = text
        self.cover = cover
        if text.allSatisfy({ $0 == 0 }) || cover.allSatisfy({ $0 == 0 }) {
            let meanText = text.reduce(0, +) / Float(d)
            let meanCover = cover.reduce(0, +) / Float(d)
            attention = ([], [])
            fusedText = text.map { $0 + meanCover }
            fusedCover = cover.map { $0 + meanText }
            return
        }
        var textToCover = [Float](repeating: 0, count: d * d)
        var coverToText = [Float](repeating: 0, count: d * d)
        (fusedText, fusedCover) = textToCover.withUnsafeMutableBufferPointer { a in
            coverToText.withUnsafeMutableBufferPointer { b in
                Self.attend(text: text, cover: cover, keepingTextToCover: a.baseAddress, coverToText: b.baseAddress)
            }
        }
        attention = (textToCover, coverToText)
    }

    /// h_b = [t_fused; v_fused] without keeping the attention matrices, which only the backward
    /// pass reads: O(d) memory instead of 2d² floats (8 MB per book at d = 1,024).
    public static func fused(text: [Float], cover: [Float]) -> [Float] {
        precondition(text.count == cover.count, "t′ and v′ must have the same dimension")
        if text.allSatisfy({ $0 == 0 }) || cover.allSatisfy({ $0 == 0 }) {
            return CoAttention(text: text, cover: cover).fused
        }
        let (fusedText, fusedCover) = attend(text: text, cover: cover, keepingTextToCover: nil, coverToText: nil)
        return fusedText + fusedCover
    }

    /// t_fused and v_fused, one attention row at a time: each row is built, softmaxed and used at
    /// once, in the given matrix (d × d, row-major) when there is one, else in a scratch row. The
    /// sums run in the same order either way, so both give the same values bit for bit.
    ///
    /// A zero t′_i or v′_j (ReLU zeroes about half of them) makes its row of S zero and its
    /// softmax exactly uniform, 1/d: such a row of A_t2v adds 1/d · 0 to v_fused and is skipped,
    /// and every such row of A_v2t adds the same Σ_i v′_i / d to t_fused, summed once.
    private static func attend(
        text: [Float], cover: [Float], keepingTextToCover a: UnsafeMutablePointer<Float>?, coverToText b: UnsafeMutablePointer<Float>?
    ) -> (text: [Float], cover: [Float]) {
        let d = text.count
        var fusedText = text
        var fusedCover = cover
        var scratch = [Float](repeating: 0, count: d)
        let uniform = 1 / Float(d)
        // A row of S is one vector times a scalar, so its largest entry is the scalar times that
        // vector's largest or smallest entry (rounding keeps the order): no pass to find it.
        let (textRange, coverRange) = ((text.min()!, text.max()!), (cover.min()!, cover.max()!))
        func largest(_ scalar: Float, times range: (min: Float, max: Float)) -> Float { scalar * (scalar > 0 ? range.max : range.min) }
        // Every loop walks a row, so that it reads memory in order and vectorises; at d = 1,024
        // these O(d²) passes are most of the cost of fusing a book with a cover.
        text.withUnsafeBufferPointer { t in
            cover.withUnsafeBufferPointer { v in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    fusedCover.withUnsafeMutableBufferPointer { out in
                        // v_fused_j += Σ_i A_t2v[i][j] t′_i, row i of A_t2v the softmax over j of t′_i v′_j.
                        for i in 0..<d {
                            let row = a.map { $0 + i * d } ?? scratch.baseAddress!
                            let weight = t[i]
                            guard weight != 0 else {
                                if a != nil { for j in 0..<d { row[j] = uniform } }
                                continue
                            }
                            for j in 0..<d { row[j] = weight * v[j] }
                            softmax(row, count: d, knownMaximum: largest(weight, times: coverRange))
                            addScaled(out.baseAddress!, weight, row, count: d)
                        }
                    }
                    var uniformAttended: Float = 0
                    for i in 0..<d { uniformAttended += uniform * v[i] }
                    // t_fused_j += Σ_i A_v2t[j][i] v′_i, row j of A_v2t the softmax over i of t′_i v′_j.
                    for j in 0..<d {
                        let row = b.map { $0 + j * d } ?? scratch.baseAddress!
                        let scale = v[j]
                        guard scale != 0 else {
                            if b != nil { for i in 0..<d { row[i] = uniform } }
                            fusedText[j] += uniformAttended
                            continue
                        }
                        for i in 0..<d { row[i] = scale * t[i] }
                        softmax(row, count: d, knownMaximum: largest(scale, times: textRange))
                        fusedText[j] += dotProduct(row, v.baseAddress!, count: d)
                    }
                }
            }
        }
        return (fusedText, fusedCover)
    }

    /// h_b = [t_fused; v_fused].
    public var fused: [Float] { fusedText + fusedCover }

    /// Gradients with respect to t′ and v′, given gradients with respect to t_fused and v_fused.
    public func backward(fusedTextGradient gT: [Float], fusedCoverGradient gV: [Float]) -> (text: [Float], cover: [Float]) {
        if isUniform { return uniformBackward(fusedTextGradient: gT, fusedCoverGradient: gV) }
        let d = dimension
        // The residual connections pass the gradients straight through. dL/dS[i][j] is used as
        // soon as it is known and never stored: S = t′v′ᵀ sends it to t′_i (times v′_j) and to v′_j
        // (times t′_i).
        var gradText = gT
        var gradCover = gV
        attention.coverToText.withUnsafeBufferPointer { b in
            attention.textToCover.withUnsafeBufferPointer { a in
                gradText.withUnsafeMutableBufferPointer { gradText in
                    gradCover.withUnsafeMutableBufferPointer { gradCover in
                        // t_fused_j = t′_j + Σ_i A_v2t[j][i] v′_i
                        for j in 0..<d {
                            let row = b.baseAddress! + j * d
                            var attended: Float = 0
                            for i in 0..<d { attended += row[i] * cover[i] }
                            let weighted = gT[j] * attended
                            var toCover: Float = 0
                            for i in 0..<d {
                                gradCover[i] += gT[j] * row[i]
                                let gradScore = row[i] * (gT[j] * cover[i] - weighted)  // dL/dS[i][j]
                                gradText[i] += gradScore * cover[j]
                                toCover += gradScore * text[i]
                            }
                            gradCover[j] += toCover
                        }
                        // v_fused_j = v′_j + Σ_i A_t2v[i][j] t′_i
                        for i in 0..<d {
                            let row = a.baseAddress! + i * d
                            var attended: Float = 0
                            for j in 0..<d { attended += row[j] * gV[j] }
                            let weighted = attended * text[i]
                            var toText = attended
                            for j in 0..<d {
                                let gradScore = row[j] * (gV[j] * text[i] - weighted)  // dL/dS[i][j]
                                toText += gradScore * cover[j]
                                gradCover[j] += gradScore * text[i]
                            }
                            gradText[i] += toText
                        }
                    }
                }
            }
        }
        return (gradText, gradCover)
    }

    /// The general backward pass with every attention weight 1/d, summed in closed form:
    /// dL/dS[i][j] = (gT_j (v′_i − v̄) + t′_i (gV_j − ḡV)) / d, where v̄ and ḡV are means.
    private func uniformBackward(fusedTextGradient gT: [Float], fusedCoverGradient gV: [Float]) -> (text: [Float], cover: [Float]) {
        let d = Float(dimension)
        func dot(_ x: [Float], _ y: [Float]) -> Float { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }
        let sumText = text.reduce(0, +), sumCover = cover.reduce(0, +)
        let meanCover = sumCover / d, meanGV = gV.reduce(0, +) / d
        let sumGT = gT.reduce(0, +), sumGV = gV.reduce(0, +)
        let gTCover = dot(gT, cover), gVCover = dot(gV, cover)
        let textCover = dot(text, cover), textSquared = dot(text, text)
        let gradText = (0..<dimension).map { i in
            gT[i] + sumGV / d + ((cover[i] - meanCover) * gTCover + text[i] * (gVCover - meanGV * sumCover)) / d
        }
        let gradCover = (0..<dimension).map { j in
            gV[j] + sumGT / d + (gT[j] * (textCover - meanCover * sumText) + textSquared * (gV[j] - meanGV)) / d
        }
        return (gradText, gradCover)
    }
}

/// The logistic function, written to stay finite for large |x|.
@inline(__always)
public func sigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
}

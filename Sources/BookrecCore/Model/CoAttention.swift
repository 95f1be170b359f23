import Foundation

/// The seed's co-attention between a book's projected text vector t′ and cover vector v′
/// (SPEC, The model, steps 2–4), with its hand-derived backward pass.
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
        textToCover.withUnsafeMutableBufferPointer { a in
            coverToText.withUnsafeMutableBufferPointer { b in
                for i in 0..<d {
                    for j in 0..<d {
                        a[i * d + j] = text[i] * cover[j]
                        b[j * d + i] = text[i] * cover[j]
                    }
                }
                for row in 0..<d {
                    softmax(a.baseAddress! + row * d, count: d)
                    softmax(b.baseAddress! + row * d, count: d)
                }
            }
        }
        var fusedText = text
        var fusedCover = cover
        for j in 0..<d {
            var attendedCover: Float = 0
            var attendedText: Float = 0
            for i in 0..<d {
                attendedCover += coverToText[j * d + i] * cover[i]
                attendedText += textToCover[i * d + j] * text[i]
            }
            fusedText[j] += attendedCover
            fusedCover[j] += attendedText
        }
        attention = (textToCover, coverToText)
        self.fusedText = fusedText
        self.fusedCover = fusedCover
    }

    /// h_b = [t_fused; v_fused].
    public var fused: [Float] { fusedText + fusedCover }

    /// Gradients with respect to t′ and v′, given gradients with respect to t_fused and v_fused.
    public func backward(fusedTextGradient gT: [Float], fusedCoverGradient gV: [Float]) -> (text: [Float], cover: [Float]) {
        if isUniform { return uniformBackward(fusedTextGradient: gT, fusedCoverGradient: gV) }
        let textToCover = attention.textToCover, coverToText = attention.coverToText
        let d = dimension
        // The residual connections pass the gradients straight through.
        var gradText = gT
        var gradCover = gV
        var gradScores = [Float](repeating: 0, count: d * d)  // dL/dS[i][j]
        // t_fused_j = t′_j + Σ_i A_v2t[j][i] v′_i
        for j in 0..<d {
            var weighted: Float = 0
            for i in 0..<d {
                let gradAttention = gT[j] * cover[i]
                weighted += coverToText[j * d + i] * gradAttention
                gradCover[i] += gT[j] * coverToText[j * d + i]
            }
            for i in 0..<d {
                let a = coverToText[j * d + i]
                gradScores[i * d + j] += a * (gT[j] * cover[i] - weighted)
            }
        }
        // v_fused_j = v′_j + Σ_i A_t2v[i][j] t′_i
        for i in 0..<d {
            var weighted: Float = 0
            for j in 0..<d {
                weighted += textToCover[i * d + j] * gV[j] * text[i]
                gradText[i] += gV[j] * textToCover[i * d + j]
            }
            for j in 0..<d {
                let a = textToCover[i * d + j]
                gradScores[i * d + j] += a * (gV[j] * text[i] - weighted)
            }
        }
        // S[i][j] = t′_i v′_j
        for i in 0..<d {
            for j in 0..<d {
                gradText[i] += gradScores[i * d + j] * cover[j]
                gradCover[j] += gradScores[i * d + j] * text[i]
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

import Foundation

/// The seed's co-attention between a book's projected text vector t′ and cover vector v′
/// (SPEC, The model, steps 2–4), with its hand-derived backward pass.
///
/// S = t′v′ᵀ; A_t2v = softmax(S) by rows; A_v2t = softmax(Sᵀ) by rows;
/// t_fused = t′ + A_v2t·v′; v_fused = v′ + A_t2vᵀ·t′.
public struct CoAttention: Equatable, Sendable {
    public let text: [Float]
    public let cover: [Float]
    /// d × d, row-major.
    public let textToCover: [Float]
    /// d × d, row-major: row j is the softmax over i of S[i][j].
    public let coverToText: [Float]
    public let fusedText: [Float]
    public let fusedCover: [Float]

    public var dimension: Int { text.count }

    public init(text: [Float], cover: [Float]) {
        precondition(text.count == cover.count, "t′ and v′ must have the same dimension")
        let d = text.count
        self.text = text
        self.cover = cover
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
        self.textToCover = textToCover
        self.coverToText = coverToText
        self.fusedText = fusedText
        self.fusedCover = fusedCover
    }

    /// h_b = [t_fused; v_fused].
    public var fused: [Float] { fusedText + fusedCover }

    /// Gradients with respect to t′ and v′, given gradients with respect to t_fused and v_fused.
    public func backward(fusedTextGradient gT: [Float], fusedCoverGradient gV: [Float]) -> (text: [Float], cover: [Float]) {
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
}

/// The logistic function, written to stay finite for large |x|.
@inline(__always)
public func sigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
}

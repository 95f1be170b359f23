/// The two transcendental functions of the forward pass, eight lanes at a time. Calling libm's
/// `erff` and `expf` per element took a fifth of the encoder's time on catalog texts; these are
/// plain multiply-adds the compiler keeps in vector registers. Every element, tails included,
/// goes through the same lanes' arithmetic, so a value never depends on where it sits in a batch.
enum VectorMath {
    typealias Lanes = SIMD8<Float>

    /// erf(x) as Eigen's rational approximation (odd degree-13 numerator over even degree-8
    /// denominator, inputs clamped to ±4 where erf is ±1 in float32): in float32 arithmetic within
    /// 4e-7 of erf (a few ulps of the values near ±1 where the error is largest), against the 1e-5
    /// to which the hidden states match the reference.
    @inline(__always)
    static func erf(_ value: Lanes) -> Lanes {
        let x = clamp(value, -4, 4)
        let x2 = x * x
        var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08
        p = x2 * p + -2.10102402082508e-06
        p = x2 * p + -5.69250639462346e-05
        p = x2 * p + -7.34990630326855e-04
        p = x2 * p + -2.95459980854025e-03
        p = x2 * p + -1.60960333262415e-02
        p = x * p
        var q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04
        q = x2 * q + -1.68282697438203e-03
        q = x2 * q + -7.37332916720468e-03
        q = x2 * q + -1.42647390514189e-02
        return p / q
    }

    /// eˣ by Cephes' method: x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial for eʳ, and
    /// 2ⁿ written into the exponent bits. Within 3 ulp of eˣ over the clamped range [−87.3, 88.4]
    /// (below it the result is about 1e-38, not 0, which a softmax cannot tell apart).
    @inline(__always)
    static func exp(_ value: Lanes) -> Lanes {
        let x = clamp(value, -87.33654, 88.37626)
        // Adding 1.5·2²³ rounds x·log₂e to the nearest integer n and leaves n in the low bits of
        // the sum's significand: no float-to-integer conversion, which has no vector form here.
        let shifted = x * 1.44269504088896341 + roundingShift
        let n = shifted - roundingShift
        // ln 2 split in two so that n·ln 2 is exact in its high part.
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p = r * 1.9875691500e-4 + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let polynomial = p * r * r + r + 1
        let integerN = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- Int32(bitPattern: roundingShift.bitPattern)
        return polynomial * unsafeBitCast((integerN &+ 127) &<< 23, to: Lanes.self)
    }

    private static let roundingShift: Float = 12_582_912

    /// Lane by lane, so that the compiler emits packed min and max.
    @inline(__always)
    private static func clamp(_ value: Lanes, _ lower: Float, _ upper: Float) -> Lanes {
        var result = value
        for lane in 0..<Lanes.scalarCount { result[lane] = Swift.min(Swift.max(value[lane], lower), upper) }
        return result
    }

    /// Applies `transform` to every element of the buffer in groups of eight; the last group is
    /// padded with `padding` and only its real elements written back.
    @inline(__always)
    static func transform(
        _ buffer: UnsafeMutablePointer<Float>, count: Int, padding: Float = 0, _ transform: (Lanes) -> Lanes
    ) {
        var start = 0
        while start + Lanes.scalarCount <= count {
            let raw = UnsafeMutableRawPointer(buffer + start)
            raw.storeBytes(of: transform(raw.loadUnaligned(as: Lanes.self)), as: Lanes.self)
            start += Lanes.scalarCount
        }
        guard start < count else { return }
        var tail = Lanes(repeating: padding)
        for lane in 0..<(count - start) { tail[lane] = buffer[start + lane] }
        tail = transform(tail)
        for lane in 0..<(count - start) { buffer[start + lane] = tail[lane] }
    }
}

/// The transcendental functions of the co-attention and of MiniLM's forward pass, eight lanes at
/// a time. Calling the C library's `expf` or `erff` per element made them a fifth or more of
/// those passes; these are multiply-adds the compiler keeps in vector registers.

/// exp(x) for 8 lanes at once: Cody–Waite range reduction and a degree-6 polynomial (the Cephes
/// expf scheme), within 3 ulp of eˣ for x in [−87, 88]; below the clamp the result is about
/// 1e-38, not 0, which a softmax cannot tell apart.
@inline(__always)
public func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let x = clamp8(input, -87.3, 88.3)
    // Adding 1.5·2²³ rounds to the nearest integer in float arithmetic, and leaves that integer
    // in the low mantissa bits: cheaper than generic SIMD rounding and conversion.
    let shifter = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + shifter
    let n = shifted - shifter
    var r = x - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 0.166_666_66
    p = p * r + 0.5
    p = p * r * r + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(shifter, to: SIMD8<Int32>.self)
    let exponent = (integer &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
}

/// erf(x) for 8 lanes at once, as Eigen's rational approximation (odd degree-13 numerator over
/// even degree-8 denominator, inputs clamped to ±4 where erf is ±1 in float32): within 4e-7 of
/// erf in float32 arithmetic, the largest errors being a few ulps of the values near ±1.
@inline(__always)
public func erf8(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let x = clamp8(input, -4, 4)
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

/// Lane by lane, which the compiler turns into packed min and max (the generic `pointwiseMin`
/// and `pointwiseMax` stay calls).
@inline(__always)
private func clamp8(_ value: SIMD8<Float>, _ lower: Float, _ upper: Float) -> SIMD8<Float> {
    var result = value
    for lane in 0..<8 { result[lane] = min(max(value[lane], lower), upper) }
    return result
}

/// Replaces each of the `count` values with `transform` of it, eight at a time; the last group is
/// padded with `padding` and only its real elements written back. Every element, tails included,
/// goes through the same lanes' arithmetic, so a value never depends on where it sits.
@inline(__always)
public func transformInLanes(
    _ values: UnsafeMutablePointer<Float>, count: Int, padding: Float = 0, _ transform: (SIMD8<Float>) -> SIMD8<Float>
) {
    var start = 0
    while start + 8 <= count {
        let raw = UnsafeMutableRawPointer(values + start)
        raw.storeBytes(of: transform(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
        start += 8
    }
    guard start < count else { return }
    var tail = SIMD8<Float>(repeating: padding)
    for lane in 0..<(count - start) { tail[lane] = values[start + lane] }
    tail = transform(tail)
    for lane in 0..<(count - start) { values[start + lane] = tail[lane] }
}

/// Softmax of `count` values in place; exponentials eight at a time. `knownMaximum`, when the
/// caller has it, must be the values' largest and saves a pass over them.
@inline(__always)
public func softmax(_ values: UnsafeMutablePointer<Float>, count: Int, knownMaximum: Float? = nil) {
    var maximum = -Float.infinity
    if let knownMaximum {
        maximum = knownMaximum
    } else {
        for i in 0..<count { maximum = max(maximum, values[i]) }
    }
    var sum: Float = 0
    var i = 0
    while i + 8 <= count {
        let raw = UnsafeMutableRawPointer(values + i)
        let e = exp8(raw.loadUnaligned(as: SIMD8<Float>.self) - maximum)
        raw.storeBytes(of: e, as: SIMD8<Float>.self)
        sum += e.sum()
        i += 8
    }
    if i < count {
        var tail = SIMD8<Float>(repeating: -.infinity)
        for lane in 0..<(count - i) { tail[lane] = values[i + lane] - maximum }
        let e = exp8(tail)
        for lane in 0..<(count - i) {
            values[i + lane] = e[lane]
            sum += e[lane]
        }
    }
    let scale = 1 / sum
    for i in 0..<count { values[i] *= scale }
}

/// a · b over `count` floats, sixteen lanes at a time (a scalar sum would be one long dependency
/// chain); the result depends only on the two vectors, not on where they sit in memory.
@inline(__always)
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var low = SIMD8<Float>(), high = SIMD8<Float>()
    var i = 0
    while i + 16 <= count {
        let ra = UnsafeRawPointer(a + i), rb = UnsafeRawPointer(b + i)
        low += ra.loadUnaligned(as: SIMD8<Float>.self) * rb.loadUnaligned(as: SIMD8<Float>.self)
        high += ra.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        i += 16
    }
    var sum = (low + high).sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// target += scale · x over `count` floats, eight lanes at a time.
@inline(__always)
public func addScaled(_ target: UnsafeMutablePointer<Float>, _ scale: Float, _ x: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let rt = UnsafeMutableRawPointer(target + i)
        rt.storeBytes(of: rt.loadUnaligned(as: SIMD8<Float>.self) + scale * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] += scale * x[i]
        i += 1
    }
}

/// exp(x) for 8 lanes at once: Cody–Waite range reduction and a degree-6 polynomial
/// (the Cephes expf scheme), within 2 ulp of the exact value for x in [−87, 88].
///
/// The co-attention computes 2d² exponentials per book; this is several times faster than
/// calling the C library's expf lane by lane.
@inline(__always)
func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let x = pointwiseMin(pointwiseMax(input, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.3))
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

/// Softmax of `count` values in place; exponentials eight at a time.
@inline(__always)
func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) {
    var maximum = -Float.infinity
    for i in 0..<count { maximum = max(maximum, values[i]) }
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

import BookrecCore

/// Pillow's `Image.resize(size, Image.BICUBIC)` for 8-bit RGB, reproduced byte for byte
/// (after `libImaging/Resample.c`). The reference features were computed from Pillow's output and
/// are sensitive to single-level pixel differences, so the float kernel is not good enough: the
/// weights are 22-bit fixed point and the horizontal pass is rounded to uint8 before the vertical.
enum PillowBicubicResize {
    private static let precisionBits = 22
    /// Added before the final shift, so that it rounds to nearest.
    private static let half = 1 << (precisionBits - 1)

    /// The pixels in `columns` × `rows` of the image resized to `width` × `height`.
    ///
    /// Each output pixel depends only on its own taps, so computing just a window gives the same
    /// bytes as resizing everything and cropping, without the cost (or the memory, for extreme
    /// aspect ratios) of the discarded part. Pillow skips a pass whose size does not change;
    /// running it anyway is exact, because the kernel's weights at scale 1 are 0, 1, 0, 0.
    static func resize(_ image: RGBImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        precondition(image.width > 0 && image.height > 0 && !columns.isEmpty && !rows.isEmpty)
        precondition(columns.lowerBound >= 0 && columns.upperBound <= width && rows.lowerBound >= 0 && rows.upperBound <= height)
        let horizontal = Coefficients(inputSize: image.width, outputSize: width, outputs: columns)
        let vertical = Coefficients(inputSize: image.height, outputSize: height, outputs: rows)
        // Horizontal pass first, over just the input rows the vertical pass reads (as Pillow).
        let inputRows = vertical.first[0]..<(vertical.first[rows.count - 1] + vertical.count[rows.count - 1])
        let intermediate = resampleRows(image.pixels, width: image.width, rows: inputRows, coefficients: horizontal)
        let pixels = resampleColumns(intermediate, width: columns.count, firstRow: inputRows.lowerBound, coefficients: vertical)
        return RGBImage(width: columns.count, height: rows.count, pixels: pixels)
    }

    /// Integer weights for some output indices along one axis; index i describes output
    /// `outputs.lowerBound + i`.
    private struct Coefficients {
        var first: [Int] = []
        var count: [Int] = []
        /// `count[i]` weights for output index i start at `i * stride`.
        var weights: [Int] = []
        let stride: Int

        init(inputSize: Int, outputSize: Int, outputs: Range<Int>) {
            let scale = Double(inputSize) / Double(outputSize)
            // Downscaling widens the kernel by the scale factor: that is Pillow's antialiasing.
            let filterScale = max(scale, 1)
            let support = 2 * filterScale
            // Pillow multiplies by the reciprocal; dividing can differ in the last bit.
            let inverseScale = 1 / filterScale
            stride = Int(support.rounded(.up)) * 2 + 1
            weights = [Int](repeating: 0, count: outputs.count * stride)
            var kernel = [Double](repeating: 0, count: stride)
            for (index, output) in outputs.enumerated() {
                let centre = (Double(output) + 0.5) * scale
                let first = max(Int(centre - support + 0.5), 0)
                let end = min(Int(centre + support + 0.5), inputSize)
                var sum = 0.0
                for tap in 0..<(end - first) {
                    kernel[tap] = Self.cubic((Double(tap + first) - centre + 0.5) * inverseScale)
                    sum += kernel[tap]
                }
                for tap in 0..<(end - first) {
                    let weight = sum == 0 ? kernel[tap] : kernel[tap] / sum
                    // C's (int) cast after adding ±0.5: rounds half away from zero.
                    weights[index * stride + tap] = Int(weight * Double(1 << precisionBits) + (weight < 0 ? -0.5 : 0.5))
                }
                self.first.append(first)
                count.append(end - first)
            }
        }

        /// Keys' cubic with a = −0.5, written in Pillow's evaluation order so the doubles agree.
        private static func cubic(_ value: Double) -> Double {
            let a = -0.5
            let x = abs(value)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }

    private static func clip8(_ accumulator: Int) -> UInt8 {
        UInt8(clamping: accumulator >> precisionBits)
    }

    private static func resampleRows(_ input: [UInt8], width: Int, rows: Range<Int>, coefficients: Coefficients) -> [UInt8] {
        let outputWidth = coefficients.first.count
        return [UInt8](unsafeUninitializedCapacity: rows.count * outputWidth * 3) { output, initialised in
            input.withUnsafeBufferPointer { input in
                coefficients.weights.withUnsafeBufferPointer { weights in
                    for (outputRow, row) in rows.enumerated() {
                        let source = row * width * 3
                        let target = outputRow * outputWidth * 3
                        for x in 0..<outputWidth {
                            let first = coefficients.first[x], base = x * coefficients.stride
                            var r = half, g = half, b = half
                            for tap in 0..<coefficients.count[x] {
                                let weight = weights[base + tap], pixel = source + (first + tap) * 3
                                r += Int(input[pixel]) * weight
                                g += Int(input[pixel + 1]) * weight
                                b += Int(input[pixel + 2]) * weight
                            }
                            output[target + x * 3] = clip8(r)
                            output[target + x * 3 + 1] = clip8(g)
                            output[target + x * 3 + 2] = clip8(b)
                        }
                    }
                }
            }
            initialised = rows.count * outputWidth * 3
        }
    }

    /// `input` holds rows `firstRow...` of the image, `width` pixels each.
    private static func resampleColumns(_ input: [UInt8], width: Int, firstRow: Int, coefficients: Coefficients) -> [UInt8] {
        let outputHeight = coefficients.first.count
        let rowLength = width * 3
        var accumulator = [Int](repeating: 0, count: rowLength)
        return [UInt8](unsafeUninitializedCapacity: outputHeight * rowLength) { output, initialised in
            input.withUnsafeBufferPointer { input in
                for y in 0..<outputHeight {
                    for i in 0..<rowLength { accumulator[i] = half }
                    for tap in 0..<coefficients.count[y] {
                        let weight = coefficients.weights[y * coefficients.stride + tap]
                        let source = (coefficients.first[y] + tap - firstRow) * rowLength
                        for i in 0..<rowLength { accumulator[i] += Int(input[source + i]) * weight }
                    }
                    for i in 0..<rowLength { output[y * rowLength + i] = clip8(accumulator[i]) }
                }
            }
            initialised = outputHeight * rowLength
        }
    }
}

import Foundation

/// Colour and texture statistics of a cover on a spatial grid, with no learned weights.
///
/// The image is summarised globally (a hue × saturation × value histogram) and per cell of a
/// grid (hue and value histograms, and a histogram of gradient orientations weighted by
/// magnitude, which captures texture and typography). The result is L2-normalised.
public struct GridCoverEncoder: Encoder {
    public typealias Input = RGBImage

    public static let hueBins = 8
    public static let saturationBins = 3
    public static let valueBins = 3
    public static let cellHueBins = 8
    public static let cellValueBins = 4
    public static let orientationBins = 8

    public let gridSize: Int

    public init(gridSize: Int = 3) {
        precondition(gridSize > 0)
        self.gridSize = gridSize
    }

    public var identity: EncoderIdentity { EncoderIdentity(name: "grid-cover", version: "1-g\(gridSize)") }

    public var dimension: Int {
        Self.hueBins * Self.saturationBins * Self.valueBins
            + gridSize * gridSize * (Self.cellHueBins + Self.cellValueBins + Self.orientationBins)
    }

    public func encode(_ batch: [RGBImage]) -> Matrix {
        var result = Matrix(rows: batch.count, columns: dimension)
        for (row, image) in batch.enumerated() { result.setRow(row, vector(for: image)) }
        return result
    }

    public func vector(for image: RGBImage) -> [Float] {
        let cellFeatures = Self.cellHueBins + Self.cellValueBins + Self.orientationBins
        let globalSize = Self.hueBins * Self.saturationBins * Self.valueBins
        var vector = [Float](repeating: 0, count: dimension)
        let width = image.width, height = image.height
        guard width > 0, height > 0 else { return vector }
        let luminance = image.luminance()
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<height {
                let cellY = min(y * gridSize / height, gridSize - 1)
                for x in 0..<width {
                    let cellX = min(x * gridSize / width, gridSize - 1)
                    let offset = (y * width + x) * 3
                    let hsv = HSV(red: pixels[offset], green: pixels[offset + 1], blue: pixels[offset + 2])
                    let hueBin = min(Int(hsv.hue * Float(Self.hueBins)), Self.hueBins - 1)
                    let saturationBin = min(Int(hsv.saturation * Float(Self.saturationBins)), Self.saturationBins - 1)
                    let valueBin = min(Int(hsv.value * Float(Self.valueBins)), Self.valueBins - 1)
                    vector[(hueBin * Self.saturationBins + saturationBin) * Self.valueBins + valueBin] += 1

                    let cellBase = globalSize + (cellY * gridSize + cellX) * cellFeatures
                    // Grey pixels have no meaningful hue; they count in the value histogram only.
                    if hsv.saturation > 0.15 {
                        vector[cellBase + min(Int(hsv.hue * Float(Self.cellHueBins)), Self.cellHueBins - 1)] += 1
                    }
                    vector[cellBase + Self.cellHueBins + min(Int(hsv.value * Float(Self.cellValueBins)), Self.cellValueBins - 1)] += 1

                    if x > 0, y > 0, x < width - 1, y < height - 1 {
                        let gx = luminance[y * width + x + 1] - luminance[y * width + x - 1]
                        let gy = luminance[(y + 1) * width + x] - luminance[(y - 1) * width + x]
                        let magnitude = (gx * gx + gy * gy).squareRoot()
                        if magnitude > 0 {
                            // Orientation modulo π: an edge and its reverse are the same texture.
                            var angle = atan2f(gy, gx)
                            if angle < 0 { angle += .pi }
                            let bin = min(Int(angle / .pi * Float(Self.orientationBins)), Self.orientationBins - 1)
                            vector[cellBase + Self.cellHueBins + Self.cellValueBins + bin] += magnitude
                        }
                    }
                }
            }
        }
        // Each block is normalised on its own so that large images and busy textures do not
        // drown the colour statistics.
        normalizeBlock(&vector, range: 0..<globalSize)
        for cell in 0..<(gridSize * gridSize) {
            let base = globalSize + cell * cellFeatures
            normalizeBlock(&vector, range: base..<(base + Self.cellHueBins + Self.cellValueBins))
            normalizeBlock(&vector, range: (base + Self.cellHueBins + Self.cellValueBins)..<(base + cellFeatures))
        }
        normalize(&vector)
        return vector
    }

    private func normalizeBlock(_ vector: inout [Float], range: Range<Int>) {
        var block = Array(vector[range])
        normalize(&block)
        vector.replaceSubrange(range, with: block)
    }
}

struct HSV {
    let hue: Float, saturation: Float, value: Float

    init(red: UInt8, green: UInt8, blue: UInt8) {
        let r = Float(red) / 255, g = Float(green) / 255, b = Float(blue) / 255
        let maximum = max(r, g, b), minimum = min(r, g, b)
        let delta = maximum - minimum
        value = maximum
        saturation = maximum > 0 ? delta / maximum : 0
        var h: Float = 0
        if delta > 0 {
            if maximum == r {
                h = (g - b) / delta
            } else if maximum == g {
                h = 2 + (b - r) / delta
            } else {
                h = 4 + (r - g) / delta
            }
            h /= 6
            if h < 0 { h += 1 }
        }
        hue = min(h, 0.999_999)
    }
}

extension RGBImage {
    /// Rec. 601 luma in 0...1, row-major.
    func luminance() -> [Float] {
        var result = [Float](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = Float(pixels[i * 3]), g = Float(pixels[i * 3 + 1]), b = Float(pixels[i * 3 + 2])
            result[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255
        }
        return result
    }
}

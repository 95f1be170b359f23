import BookrecCore

/// Turns a decoded image into the network's input the way the reference vectors were made:
/// Pillow bicubic resize of the shorter side to 256, centre crop 224, (pixel − 127) / 128.
///
/// The TF EfficientNet-Lite checkpoints were trained with that "inception-style" scaling, not
/// ImageNet mean/std; see Tests/Fixtures/reference/README.md, section 2.
public enum CoverPreprocessing {
    public static let resizedShorterSide = 256
    public static let cropSize = EfficientNetLite0.inputSize

    /// The size after the resize: the shorter side becomes 256, the longer keeps the aspect
    /// ratio, rounded half to even (as Python's `round`).
    public static func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        func scaled(_ long: Int, _ short: Int) -> Int {
            Int((Double(resizedShorterSide) * Double(long) / Double(short)).rounded(.toNearestOrEven))
        }
        return width <= height
            ? (resizedShorterSide, scaled(height, width))
            : (scaled(width, height), resizedShorterSide)
    }

    /// The 224×224 RGB crop the network sees.
    public static func crop(_ image: RGBImage) throws -> RGBImage {
        guard image.width > 0, image.height > 0 else {
            throw EfficientNetError(reason: "cannot encode an empty \(image.width)x\(image.height) image")
        }
        let size = resizedSize(width: image.width, height: image.height)
        let left = (size.width - cropSize) / 2
        let top = (size.height - cropSize) / 2
        return PillowBicubicResize.resize(
            image, width: size.width, height: size.height, columns: left..<left + cropSize, rows: top..<top + cropSize)
    }

    /// Appends a 224×224 crop to `tensor` as planar channels (R plane, G plane, B plane), the
    /// NCHW layout of one image.
    public static func appendNormalised(_ crop: RGBImage, to tensor: inout [Float]) {
        precondition(crop.width == cropSize && crop.height == cropSize, "the crop must be \(cropSize)x\(cropSize)")
        let planeSize = cropSize * cropSize
        for channel in 0..<3 {
            for position in 0..<planeSize {
                tensor.append((Float(crop.pixels[position * 3 + channel]) - 127) / 128)
            }
        }
    }

    /// The network input for a batch of decoded images, NCHW [count, 3, 224, 224].
    public static func inputTensor(for images: [RGBImage]) throws -> [Float] {
        var tensor = [Float]()
        tensor.reserveCapacity(images.count * 3 * cropSize * cropSize)
        for image in images {
            appendNormalised(try crop(image), to: &tensor)
        }
        return tensor
    }
}

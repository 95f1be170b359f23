import BookrecCore
import CImageCodec
import Foundation

/// Why an image could not be decoded; the message is meant for the person who supplied the file.
public struct ImageDecodingError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Decodes JPEG and PNG bytes (recognised by their signature, not the file name) into RGB pixels.
public struct ImageDecoder: Sendable {
    /// Larger images are refused from their header, before any pixel memory is allocated.
    public let maxPixels: Int

    public init(maxPixels: Int = 40_000_000) {
        self.maxPixels = maxPixels
    }

    public func decode(_ bytes: Data) throws -> RGBImage {
        if bytes.isEmpty { throw ImageDecodingError(reason: "empty file") }
        let kind = ImageKind(signature: bytes)
        var image = bookrec_image()
        let status: Int32 = bytes.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress!
            switch kind {
            case .jpeg: return bookrec_decode_jpeg(base, raw.count, Int64(maxPixels), &image)
            case .png: return bookrec_decode_png(base, raw.count, Int64(maxPixels), &image)
            case .unknown: return -1
            }
        }
        if status == -1 { throw ImageDecodingError(reason: "not a JPEG or PNG file (unrecognised signature)") }
        defer { bookrec_image_free(&image) }
        if status != 0 {
            let message = withUnsafeBytes(of: image.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ImageDecodingError(reason: message.isEmpty ? "undecodable image" : message)
        }
        let count = Int(image.width) * Int(image.height) * 3
        let pixels = Array(UnsafeBufferPointer(start: image.pixels, count: count))
        return RGBImage(width: Int(image.width), height: Int(image.height), pixels: pixels)
    }

    public func decode(contentsOf url: URL) throws -> RGBImage {
        try decode(try Data(contentsOf: url))
    }
}

enum ImageKind {
    case jpeg, png, unknown

    init(signature bytes: Data) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else {
            self = .unknown
        }
    }
}

/// Names an encoder and the version of its output, so that stored vectors are reused only
/// when both match (the encoder cache is keyed by content hash and this identity).
public struct EncoderIdentity: Hashable, Codable, Sendable, CustomStringConvertible {
    public let name: String
    public let version: String
    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
    public var description: String { "\(name)@\(version)" }
}

/// One protocol for every modality: a batch of inputs in, one row vector per input out.
public protocol Encoder: Sendable {
    associatedtype Input
    var identity: EncoderIdentity { get }
    var dimension: Int { get }
    /// Encodes a batch; row i of the result belongs to input i.
    func encode(_ batch: [Input]) throws -> Matrix
}

/// Decoded 8-bit RGB pixels, row-major height × width × 3.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB image \(width)x\(height) needs \(width * height * 3) bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

import Foundation

// MARK: - Arrays of numbers as bytes

extension Array where Element: BitwiseCopyable {
    /// The elements' bytes in the machine's order, the on-disk form of every vector (Float32)
    /// and id list (Int32); every platform Swift and OpenBLAS serve here (x86-64, arm64) is
    /// little-endian. A trailing partial element is dropped when read back.
    public var blob: Data {
        withUnsafeBufferPointer { Data(buffer: $0) }
    }

    public init(blob: Data) {
        let size = MemoryLayout<Element>.stride
        self = [Element](unsafeUninitializedCapacity: blob.count / size) { buffer, count in
            count = blob.copyBytes(to: buffer) / size
        }
    }
}

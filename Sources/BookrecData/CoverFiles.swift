import Foundation

/// Where covers may be read from, and how much of one: a cover path names a regular file inside
/// `root` (after resolving `..` and symbolic links), of at most `maximumBytes`, checked before a
/// byte is read. The import loader's root is the data folder's covers/, add-books' the new-books
/// file's folder or `--covers-root`.
public struct CoverFiles: Sendable {
    public let root: URL
    public let maximumBytes: Int
    /// 20 MB: a print-quality JPEG cover is a few MB; anything larger is not a cover.
    public static let defaultMaximumBytes = 20_000_000

    public init(root: URL, maximumBytes: Int = CoverFiles.defaultMaximumBytes) {
        self.root = root.standardizedFileURL.resolvingSymlinksInPath()
        self.maximumBytes = maximumBytes
    }

    /// The bytes of the cover at `path` (relative to the root, or absolute inside it).
    func read(_ path: String) -> Result<Data, FieldProblem> {
        let named = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
        let resolved = named.standardizedFileURL.resolvingSymlinksInPath()
        guard resolved.path.hasPrefix(root.path.hasSuffix("/") ? root.path : root.path + "/") else {
            return .failure(FieldProblem(reason: "cover \(path) is outside \(root.path)"))
        }
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: resolved.path) } catch {
            return .failure(FieldProblem(reason: "cover file \(resolved.path) cannot be read: \(readFailure(error))"))
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            return .failure(FieldProblem(reason: "cover \(path) is not a regular file"))
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumBytes else {
            return .failure(FieldProblem(reason: "cover \(path) is \(size) bytes, over the limit of \(maximumBytes)"))
        }
        let bytes: Data
        do { bytes = try Data(contentsOf: resolved) } catch {
            return .failure(FieldProblem(reason: "cover file \(resolved.path) cannot be read: \(readFailure(error))"))
        }
        guard bytes.count <= maximumBytes else {
            return .failure(FieldProblem(reason: "cover \(path) grew to \(bytes.count) bytes while it was read, over the limit of \(maximumBytes)"))
        }
        return .success(bytes)
    }
}

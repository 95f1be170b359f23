import Foundation

/// Paths of the data the tests read, all inside the repository.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let slice = root.appendingPathComponent("Tests/Fixtures/goodbooks-slice")
    static let badInput = root.appendingPathComponent("Tests/Fixtures/bad-input")

    /// A fresh path for a store file, removed with its WAL files when the test ends.
    static func temporaryStorePath() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("store.sqlite").path
    }
}

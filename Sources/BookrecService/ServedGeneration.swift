import BookrecStore
import Foundation

/// What the service answers from: the store's active generation and its book vectors in memory.
/// A request takes one of these at its start and reads only that generation, so it never sees
/// a half-written one, and activation or rollback is followed on the next request.
public struct ServedGeneration: Sendable {
    public let reader: QueryReader
    public let vectors: BookVectorIndex
    public var generationID: Int { reader.generationID }
}

/// Follows the store's active generation: each request reads the active id (one primary-key
/// read) and gets the generation it names, loading its vectors once when it changes.
public final class GenerationFollower: @unchecked Sendable {
    public let storePath: String
    private let lock = NSLock()
    private var store: Store?
    private var served: ServedGeneration?
    private let loader = Loader()

    public init(storePath: String) {
        self.storePath = storePath
    }

    /// The active generation, or a 503 problem while there is no store or no active generation.
    public func current() async throws -> ServedGeneration {
        let store = try openStore()
        guard let active = try store.activeGenerationID() else {
            throw Problem(.serviceUnavailable, "no generation is active yet; run `bookrec-coordinator run`")
        }
        if let served = lock.withLock({ self.served }), served.generationID == active { return served }
        let loaded = try await loader.load(store: store, generationID: active)
        lock.withLock { served = loaded }
        return loaded
    }

    /// The store, opened read-only once it exists.
    public func openStore() throws -> Store {
        if let store = lock.withLock({ self.store }) { return store }
        guard FileManager.default.fileExists(atPath: storePath) else {
            throw Problem(.serviceUnavailable, "there is no store yet; run `bookrec-coordinator import` and `run`")
        }
        let opened = try Store(path: storePath, readOnly: true)
        lock.withLock { store = opened }
        return opened
    }

    /// Loads one generation at a time, so that requests arriving together after an activation
    /// wait for one load instead of each starting their own.
    private actor Loader {
        private var last: ServedGeneration?

        func load(store: Store, generationID: Int) throws -> ServedGeneration {
            if let last, last.generationID == generationID { return last }
            let reader = QueryReader(store: store, generationID: generationID)
            let vectors = try BookVectorIndex(store: store, generationID: generationID, precomputingNeighbours: true)
            let loaded = ServedGeneration(reader: reader, vectors: vectors)
            last = loaded
            return loaded
        }
    }
}

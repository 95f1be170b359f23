import Foundation

/// An exclusive lock beside the store, so that a second coordinator refuses to start while one
/// runs. flock is released by the kernel when its holder dies, even by kill -9.
final class FileCoordinatorLock: CoordinatorLock {
    private let descriptor: Int32
    let path: String

    init(storePath: String) throws {
        path = storePath + ".coordinator.lock"
        descriptor = open(path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw StoreError("cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw StoreError("another coordinator is running against \(storePath)\(holder.isEmpty ? "" : " (\(holder))"); wait for it or stop it")
        }
        ftruncate(descriptor, 0)
        let note = "pid \(ProcessInfo.processInfo.processIdentifier) on \(ProcessInfo.processInfo.hostName)\n"
        _ = note.withCString { write(descriptor, $0, strlen($0)) }
    }

    public func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

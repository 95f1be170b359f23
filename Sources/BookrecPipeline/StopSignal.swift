import Dispatch
import Foundation

/// A flag raised by SIGTERM or SIGINT, checked between jobs: the worker finishes the job in
/// hand, stops taking new ones and exits 0.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var sources: [DispatchSourceSignal] = []

    public init() {}

    public var isRaised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return raised
    }

    public func raise() {
        lock.lock()
        raised = true
        lock.unlock()
    }

    /// Replaces the default handlers of SIGTERM and SIGINT (which would kill the process).
    public func installHandlers(onSignal: @escaping (Int32) -> Void = { _ in }) {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                self?.raise()
                onSignal(signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}

import BookrecQueue
import CoreMetrics
import Foundation

/// A worker's metrics through swift-metrics (a no-op until `bookrec-worker --metrics-port`
/// bootstraps Prometheus): jobs by kind and outcome, how long each took, books encoded, and the
/// broker's reconnects. Outcomes the consumer decides (a retry, a dead letter, a hand-back) are
/// read from its events; the job's own result and duration from `measure`.
struct WorkerMetrics: Sendable {
    private let kindOfQueue: [String: String]

    init(topology: Topology) {
        kindOfQueue = Dictionary(uniqueKeysWithValues: JobMessage.Kind.allCases.map { (topology.queue(for: $0), $0.rawValue) })
        // Shown as 0 from the start: a rate over a counter that appears only at its first
        // reconnect would miss that one.
        _ = Self.reconnects
    }

    private static var reconnects: Counter { Counter(label: "bookrec_worker_broker_reconnects_total") }

    /// Runs a job, recording its duration and, when it succeeded, a done job.
    func measure(kind: JobMessage.Kind, _ job: () -> Outcome) -> Outcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = job()
        CoreMetrics.Timer(label: "bookrec_worker_job_duration_seconds", dimensions: [("kind", kind.rawValue)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        if outcome == .ack { jobs(kind.rawValue, "done") }
        return outcome
    }

    /// Counts what the consumer reports: retries, dead letters, hand-backs and lost connections.
    func record(_ event: QueueEvent) {
        switch event {
        case .retryScheduled(let queue, _, _, _, _): jobs(kindOfQueue[queue] ?? queue, "retried")
        case .deadLettered(let queue, _, _): jobs(kindOfQueue[queue] ?? queue, "dead_lettered")
        case .requeued(let queue, _, _): jobs(kindOfQueue[queue] ?? queue, "handed_back")
        case .connectionLost, .unreachable: Self.reconnects.increment()
        default: break
        }
    }

    static func booksEncoded(_ count: Int) {
        Counter(label: "bookrec_worker_books_encoded_total").increment(by: count)
    }

    private func jobs(_ kind: String, _ outcome: String) {
        Counter(label: "bookrec_worker_jobs_total", dimensions: [("kind", kind), ("outcome", outcome)]).increment()
    }
}

import BookrecStore
import CoreMetrics

/// The coordinator's progress through swift-metrics (a no-op until `--metrics-port` bootstraps
/// Prometheus): the shards of the phase it waits for, planned and done, and how long each phase
/// of a full run took.
enum CoordinatorMetrics {
    static func shards(_ kind: JobKind, generationID: Int, done: Int, planned: Int) {
        Gauge(label: "bookrec_coordinator_generation").record(generationID)
        Gauge(label: "bookrec_coordinator_shards", dimensions: [("phase", kind.rawValue), ("state", "done")]).record(done)
        Gauge(label: "bookrec_coordinator_shards", dimensions: [("phase", kind.rawValue), ("state", "planned")]).record(planned)
    }

    static func phaseFinished(_ phase: String, seconds: Double) {
        Gauge(label: "bookrec_coordinator_phase_duration_seconds", dimensions: [("phase", phase)]).record(seconds)
    }
}

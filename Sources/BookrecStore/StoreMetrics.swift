import CoreMetrics

/// The store's metrics (swift-metrics), the same for both drivers.
enum StoreMetrics {
    /// Every write transaction's time, waiting for a lock or a retry included.
    static let writeDuration = CoreMetrics.Timer(label: "bookrec_store_write_duration_seconds", preferredDisplayUnit: .seconds)
}

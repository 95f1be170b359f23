import COpenBLAS

/// Which of OpenBLAS's kernel sets this process runs, and who chose it.
///
/// The loader in `COpenBLAS` sets `OPENBLAS_CORETYPE` from the CPU's features before OpenBLAS
/// loads, unless the user set it: OpenBLAS 0.3.21 chooses by CPU model id and falls back to its
/// slow generic kernels on models newer than it knows.
public struct BLASKernels: Sendable, CustomStringConvertible {
    public enum Origin: Sendable {
        case environment, cpuFeatures, openBLASDetection
    }

    /// OpenBLAS's name for the kernel set, e.g. "Haswell", "SkylakeX", "Zen".
    public let name: String
    public let origin: Origin

    /// The kernel set of this process. The first call loads OpenBLAS: call it at start-up, before
    /// other threads run, because the loader may set an environment variable.
    public static var current: BLASKernels {
        let origin: Origin
        switch blas_kernel_origin_of_choice() {
        case BLAS_KERNELS_FROM_ENVIRONMENT: origin = .environment
        case BLAS_KERNELS_FROM_CPU_FEATURES: origin = .cpuFeatures
        default: origin = .openBLASDetection
        }
        return BLASKernels(name: String(cString: blas_kernel_name()), origin: origin)
    }

    /// The kernel set bookrec chooses for this CPU, or nil where OpenBLAS's detection is left to choose.
    public static var forThisCPU: String? {
        blas_kernels_for_cpu_features().map { String(cString: $0) }
    }

    /// OpenBLAS's x86-64 kernel sets that bookrec knows, slowest first.
    public static let x86KernelSets = ["Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake"]

    /// Whether this CPU (and its operating system) can run kernel set `name`.
    public static func cpuCanRun(_ name: String) -> Bool { blas_cpu_can_run(name) != 0 }

    public var description: String {
        switch origin {
        case .environment: return "OpenBLAS \(name) kernels (OPENBLAS_CORETYPE from the environment)"
        case .cpuFeatures: return "OpenBLAS \(name) kernels (chosen from the CPU's features)"
        case .openBLASDetection: return "OpenBLAS \(name) kernels (OpenBLAS's own detection)"
        }
    }
}

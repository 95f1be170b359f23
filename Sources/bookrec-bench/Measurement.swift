import BookrecCore
import Foundation

/// Runs `body` once to warm up, then for at least `seconds` and `minimumRounds` rounds; returns
/// the median seconds per round, which shrugs off rounds slowed by other processes.
func medianSeconds(minimumRounds: Int = 3, seconds: Double, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var rounds = [Double]()
    let start = Date()
    repeat {
        let roundStart = Date()
        try body()
        rounds.append(Date().timeIntervalSince(roundStart))
    } while rounds.count < minimumRounds || Date().timeIntervalSince(start) < seconds
    return rounds.sorted()[rounds.count / 2]
}

/// GFLOP/s of a 1024×1024 by 1024×1024 sgemm on one thread: the baseline every benchmark
/// divides by. Prints it with the kernel set that produced it.
func sgemmPeakGFLOPS(seconds: Double) -> Double {
    let rate = singleThreadSgemmGFLOPS(seconds: seconds)
    print(String(format: "BLAS: %@; sgemm 1024³, 1 thread: %.1f GFLOP/s", BLASKernels.current.description, rate))
    return rate
}

func singleThreadSgemmGFLOPS(seconds: Double) -> Double {
    setBLASThreads(1)
    let n = 1024
    let a = Matrix(rows: n, columns: n, values: (0..<n * n).map { Float($0 % 17) / 17 })
    var c = Matrix(rows: n, columns: n)
    let perCall = medianSeconds(seconds: seconds) { gemm(a, a, into: &c) }
    return 2 * pow(Double(n), 3) / perCall / 1e9
}

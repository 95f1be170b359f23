import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecStore
import Foundation

/// The HTTP service under load: `bookrec-query serve` on a store, driven by wrk at 64 keep-alive
/// connections; `recommend` and `similar` as ratios to `/healthz` in the same run, p99 latency,
/// and the serving process's peak memory.
struct HTTPBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Throughput and p99 of the HTTP service at 64 connections (wrk, from Debian), as ratios to /healthz.",
        discussion: "Starts bookrec-query serve (next to this executable) on the store, measures, and stops it with SIGTERM.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Concurrent keep-alive connections.") var connections = 64
    @Option(help: "Seconds of load per endpoint and round.") var seconds = 5
    @Option(help: "Rounds over the three endpoints, interleaved; the medians are printed.") var rounds = 3
    @Option(help: "wrk threads (the load generator shares the machine with the server).") var threads = 1

    func validate() throws {
        guard connections >= 1, seconds >= 1, threads >= 1, rounds >= 1 else {
            throw ValidationError("--connections, --seconds, --threads and --rounds must be at least 1")
        }
    }

    func run() throws {
        let store = try storeOptions.open(readOnly: true)
        guard let generation = try store.activeGenerationID() else { throw ValidationError("no generation is active in \(store.location)") }
        let readers = try store.readerIDs(generationID: generation)
        let books = try store.bookVectors(generationID: generation).ids
        var generator = SeededGenerator(seed: 5)
        let sampledReaders = (0..<1000).map { _ in readers[Int(generator.next() % UInt64(readers.count))] }
        let sampledBooks = (0..<1000).map { _ in books[Int(generator.next() % UInt64(books.count))] }

        let server = try ServedStore(storeLocation: storeOptions.location)
        defer { server.stop() }
        // The first request loads the generation; each endpoint then runs 2 s unmeasured, so that
        // the figures are the steady state's, not the first touches of the lists in memory.
        _ = try wrk(server.base, path: { _ in "/readyz" }, ids: [0], seconds: 1)
        let endpoints: [(path: (Int) -> String, ids: [Int])] = [
            ({ _ in "/healthz" }, [0]), ({ "/v1/readers/\($0)/recommendations?k=10" }, sampledReaders), ({ "/v1/books/\($0)/similar?k=10" }, sampledBooks),
        ]
        for endpoint in endpoints { _ = try wrk(server.base, path: endpoint.path, ids: endpoint.ids, seconds: 2) }
        // Interleaved rounds: whatever else slows the machine for a while slows all three alike.
        var runs = [[(rate: Double, p50: Double, p99: Double, errors: Int)]](repeating: [], count: endpoints.count)
        for _ in 0..<rounds {
            for (index, endpoint) in endpoints.enumerated() { runs[index].append(try wrk(server.base, path: endpoint.path, ids: endpoint.ids, seconds: seconds)) }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let medians = runs.map { runs in
            (rate: median(runs.map(\.rate)), p50: median(runs.map(\.p50)), p99: median(runs.map(\.p99)), errors: runs.map(\.errors).reduce(0, +))
        }
        let (health, recommend, similar) = (medians[0], medians[1], medians[2])
        let memory = server.peakResidentMegabytes()
        print("store \(store.location), generation \(generation): \(readers.count) readers, \(books.count) books; wrk \(threads) thread(s), \(connections) connections, medians of \(rounds) rounds of \(seconds) s")
        for (name, figures) in [("/healthz (baseline)", health), ("recommend -k 10", recommend), ("similar -k 10", similar)] {
            print(String(
                format: "%@: %.0f requests/s = %.2f × /healthz, p50 %.2f ms, p99 %.2f ms, %d non-2xx",
                name, figures.rate, figures.rate / health.rate, figures.p50 * 1e3, figures.p99 * 1e3, figures.errors))
        }
        print(String(format: "serving process: peak resident memory %.0f MB", memory))
    }

    /// One wrk run cycling through `ids`: requests per second, p50 and p99 in seconds, non-2xx answers.
    private func wrk(_ base: URL, path: (Int) -> String, ids: [Int], seconds: Int) throws -> (rate: Double, p50: Double, p99: Double, errors: Int) {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("bookrec-wrk-\(UUID().uuidString).lua")
        defer { try? FileManager.default.removeItem(at: script) }
        try """
            local paths = {\(ids.map { "\"\(path($0))\"" }.joined(separator: ","))}
            local i = 0
            request = function()
              i = i + 1
              return wrk.format("GET", paths[(i % #paths) + 1])
            end
            """.write(to: script, atomically: true, encoding: .utf8)
        let output = try runProgram(
            "/usr/bin/wrk",
            ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script.path, base.absoluteString])
        func number(after label: String) -> String? {
            output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }?
                .split(separator: " ", omittingEmptySubsequences: true).dropFirst(label.split(separator: " ").count).first.map(String.init)
        }
        guard let rate = number(after: "Requests/sec:").flatMap(Double.init), let p50 = number(after: "50%").flatMap(wrkSeconds),
              let p99 = number(after: "99%").flatMap(wrkSeconds) else {
            throw ValidationError("cannot read wrk's output:\n\(output)")
        }
        let errors = number(after: "Non-2xx or 3xx responses:").flatMap(Int.init) ?? 0
        return (rate, p50, p99, errors)
    }
}

/// wrk's latencies: "812.00us", "1.23ms", "2.01s".
private func wrkSeconds(_ text: String) -> Double? {
    for (suffix, scale) in [("us", 1e-6), ("ms", 1e-3), ("s", 1.0)] where text.hasSuffix(suffix) {
        return Double(text.dropLast(suffix.count)).map { $0 * scale }
    }
    return nil
}

/// `bookrec-query serve --port 0` on a store, started from the folder of this executable.
final class ServedStore {
    let process = Process()
    let base: URL
    private let output: Pipe

    init(storeLocation: String) throws {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        process.executableURL = folder.appendingPathComponent("bookrec-query")
        process.arguments = ["serve", "--port", "0", "--store", storeLocation]
        output = Pipe()
        process.standardOutput = output
        try process.run()
        // The server prints its address once it listens.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ValidationError("bookrec-query serve stopped before listening") }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: #"http://[^ ]+/"#, options: .regularExpression), let url = URL(string: String(text[range])) else {
            throw ValidationError("bookrec-query serve printed no address: \(text)")
        }
        base = url
    }

    /// VmHWM of the server: the most memory it has held.
    func peakResidentMegabytes() -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0) / 1024
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// Runs a program to the end and returns its standard output; a failure names its standard error.
func runProgram(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(path) exited \(process.terminationStatus): \(String(decoding: message, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

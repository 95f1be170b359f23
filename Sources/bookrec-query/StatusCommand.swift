import ArgumentParser
import BookrecCLI
import BookrecQueue
import BookrecService
import BookrecStore
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Generations, shard progress, dead-lettered jobs, and queue depths when the broker is reachable.")

    @OptionGroup var options: QueryOptions
    @OptionGroup var queueOptions: QueueOptions

    func run() throws {
        let store: Store
        do {
            store = try options.storeOptions.open(readOnly: true)
        } catch {
            throw CleanExit.failure("\(error)")
        }
        var report = try store.statusReport()
        report.store = store.location
        do {
            let url = try AMQPURL.fromEnvironment()
            var connection = ConnectionOptions()
            connection.connectTimeout = 2
            let inspector = try QueueInspector(url: url, topology: Topology(prefix: queueOptions.prefix), options: connection, events: { _ in })
            report.queues = try inspector.statuses().map { QueueDepth(queue: $0.name, messages: $0.messages, consumers: $0.consumers) }
        } catch {
            report.broker = "broker not reachable: \(error)"
        }
        if options.json { return try printJSON(report) }
        print("store \(store.location); active generation: \(report.activeGeneration.map(String.init) ?? "none")")
        for generation in report.generations {
            let phases = JobKind.allCases.map { kind in
                let s = generation.shards[kind.rawValue]!
                return "\(kind.rawValue) \(s.done)/\(s.total)" + (s.failed > 0 ? " (\(s.failed) failed)" : "")
            }
            print("  generation \(generation.id) [\(generation.kind), \(generation.state)\(generation.active ? ", active" : "")] \(phases.joined(separator: ", ")); encoders: \(generation.encoders)")
        }
        let current = report.deadLetters.filter(\.current).count
        print("dead-lettered jobs: \(report.deadLetters.count) (\(current) current, \(report.deadLetters.count - current) of generations no longer being built)")
        for letter in report.deadLetters {
            // A message that could not be parsed names no job.
            let job = letter.generation.map { "generation \($0) \(letter.kind ?? "") shard \(letter.shard ?? -1)" } ?? "a message that is not a job"
            print("  \(letter.current ? "" : "[past] ")\(job): \(letter.reason)")
        }
        if !report.reindex.isEmpty { print("reindex requests (newest first):") }
        for request in report.reindex {
            let state: String
            switch request.state {
            case "running": state = "running" + (request.generation.map { " in generation \($0)" } ?? "")
            case "done": state = "done: activated in generation \(request.generation ?? -1)"
            case "failed": state = "failed: \(request.reason ?? "")"
            default: state = request.state
            }
            print("  \(request.id) \(request.kind) (\(request.accepted) from \(request.file)): \(state)")
        }
        if let broker = report.broker {
            print(broker)
        } else {
            for queue in report.queues ?? [] { print("  queue \(queue.queue): \(queue.messages ?? -1) ready, \(queue.consumers ?? -1) consumers") }
        }
    }
}

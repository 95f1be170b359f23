import ArgumentParser
import BookrecCLI
import BookrecQueue
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
            store = try Store(path: options.storeOptions.path, readOnly: true)
        } catch {
            throw CleanExit.failure("\(error)")
        }
        let active = try store.activeGenerationID()
        let generations = try store.generations()
        let progress = try generations.map { generation -> [String: Any] in
            let counts = try store.shardCounts(generationID: generation.id)
            var phases: [String: Any] = [:]
            for kind in JobKind.allCases {
                let ofKind = counts[kind] ?? [:]
                phases[kind.rawValue] = [
                    "total": ofKind.values.reduce(0, +), "done": ofKind[.done] ?? 0, "running": ofKind[.running] ?? 0, "failed": ofKind[.failed] ?? 0,
                ]
            }
            let encoders = try store.blob(generationID: generation.id, name: ModelBlob.encoders).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return [
                "id": generation.id, "kind": generation.kind, "state": generation.state.rawValue, "active": generation.id == active,
                "encoders": encoders,
                "created_at": ISO8601DateFormatter().string(from: generation.createdAt), "shards": phases,
            ]
        }
        // A dead letter is a current failure only while its generation is being built (or when it
        // names none); one of a generation since completed or abandoned is history.
        let states = Dictionary(uniqueKeysWithValues: generations.map { ($0.id, $0.state) })
        let deadLetters = try store.deadLetters(limit: 20).map { letter -> [String: Any] in
            let state = letter.generationID.flatMap { states[$0] }
            return [
                "generation": letter.generationID ?? -1, "kind": letter.kind ?? "", "shard": letter.shardIndex ?? -1, "reason": letter.reason,
                "at": ISO8601DateFormatter().string(from: letter.at), "current": state == nil || state == .building,
            ]
        }
        var queues: [[String: Any]] = []
        var brokerNote: String?
        do {
            let url = try AMQPURL.fromEnvironment()
            var connection = ConnectionOptions()
            connection.connectTimeout = 2
            let inspector = try QueueInspector(url: url, topology: Topology(prefix: queueOptions.prefix), options: connection, events: { _ in })
            queues = try inspector.statuses().map { ["queue": $0.name, "messages": $0.messages ?? -1, "consumers": $0.consumers ?? -1] }
        } catch {
            brokerNote = "broker not reachable: \(error)"
        }
        if options.json {
            var result: [String: Any] = ["store": store.path, "active_generation": active ?? -1, "generations": progress, "dead_letters": deadLetters, "queues": queues]
            if let brokerNote { result["broker"] = brokerNote }
            try printJSON(result)
            return
        }
        print("store \(store.path); active generation: \(active.map(String.init) ?? "none")")
        for generation in progress {
            let shards = generation["shards"] as! [String: [String: Int]]
            let phases = JobKind.allCases.map { kind in
                let s = shards[kind.rawValue]!
                return "\(kind.rawValue) \(s["done"]!)/\(s["total"]!)" + (s["failed"]! > 0 ? " (\(s["failed"]!) failed)" : "")
            }
            print("  generation \(generation["id"]!) [\(generation["kind"]!), \(generation["state"]!)\((generation["active"] as! Bool) ? ", active" : "")] \(phases.joined(separator: ", ")); encoders: \(generation["encoders"]!)")
        }
        let current = deadLetters.filter { $0["current"] as! Bool }.count
        print("dead-lettered jobs: \(deadLetters.count) (\(current) current, \(deadLetters.count - current) of generations no longer being built)")
        for letter in deadLetters {
            // A message that could not be parsed names no job.
            let job = letter["generation"] as! Int == -1 ? "a message that is not a job" : "generation \(letter["generation"]!) \(letter["kind"]!) shard \(letter["shard"]!)"
            print("  \((letter["current"] as! Bool) ? "" : "[past] ")\(job): \(letter["reason"]!)")
        }
        if let brokerNote {
            print(brokerNote)
        } else {
            for queue in queues { print("  queue \(queue["queue"]!): \(queue["messages"]!) ready, \(queue["consumers"]!) consumers") }
        }
    }
}

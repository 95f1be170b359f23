import BookrecCore
import BookrecQueue
import BookrecStore
import Foundation

/// Why a run stopped without activating its generation.
public struct RunFailure: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// The coordinator's generations: `run` plans, publishes, fans in, trains, publishes, fans in and
/// activates; `addBooks` and `addRatings` (GenerationRunner+Incremental.swift) derive a generation
/// from the active one. Shards already done in an interrupted generation are not redone.
public final class GenerationRunner {
    public struct Timings: Sendable {
        public var encode: TimeInterval = 0
        public var train: TimeInterval = 0
        public var score: TimeInterval = 0
        public var total: TimeInterval = 0
    }

    let store: Store
    let url: AMQPURL
    let topology: Topology
    /// The configuration of `run`; incremental generations keep their parent's.
    let configuration: RunConfiguration
    let modelsDirectory: URL
    let progress: ProgressReporter
    let log: (String) -> Void
    /// Waiting with no shard finishing for this long ends the run with an error.
    public var stallTimeout: TimeInterval = 3600

    public init(
        store: Store, url: AMQPURL, topology: Topology, configuration: RunConfiguration, modelsDirectory: URL,
        progress: ProgressReporter, log: @escaping (String) -> Void
    ) {
        self.store = store
        self.url = url
        self.topology = topology
        self.configuration = configuration
        self.modelsDirectory = modelsDirectory
        self.progress = progress
        self.log = log
    }

    /// Runs (or resumes) a full generation and activates it. Returns its id and phase times.
    public func run() throws -> (generationID: Int, timings: Timings) {
        let started = Date()
        var timings = Timings()
        let catalog = try store.loadCatalog()
        guard !catalog.books.isEmpty else { throw RunFailure(description: "the store \(store.location) has no books; run `bookrec-coordinator import` first") }
        let generationID = try resumeOrCreateGeneration(books: catalog.books)

        var phaseStart = Date()
        try runPhase(.encode, generationID: generationID, ids: catalog.books.map(\.id), shardSize: configuration.encodeShardSize)
        timings.encode = Date().timeIntervalSince(phaseStart)
        CoordinatorMetrics.phaseFinished("encode", seconds: timings.encode)

        phaseStart = Date()
        if try store.blob(generationID: generationID, name: ModelBlob.parameters) == nil {
            let encoders = try EncoderSet(configuration: configuration, generationID: generationID, store: store, modelsDirectory: modelsDirectory)
            // One connection for the rounds, opened when the first is published (the content
            // start runs before it without a library call, so no heartbeat would keep it open).
            var publisher: Publisher?
            let watch = makeDeadLetterWatch()
            defer {
                publisher?.close()
                watch.close()
            }
            // A round is about a second of work: poll often, or waiting would be much of it.
            let dispatch: ModelBuilder.TrainShardDispatch = { [self] round, shards in
                if publisher == nil { publisher = try makePublisher() }
                let connection = publisher!
                try watch.open()
                _ = try publish(.train, generationID: generationID, shards: shards, parameters: ["round": "\(round)"], publisher: connection)
                let first = shards.first?.index ?? 0
                try waitFor(
                    .train, generationID: generationID, indices: first..<(first + shards.count), label: "train round \(round + 1)",
                    publisher: connection, watch: watch, pollInterval: 0.025)
            }
            try ModelBuilder(store: store, configuration: configuration, generationID: generationID, encoders: encoders)
                .build(catalog: catalog, trainShards: dispatch) { [log] in log($0) }
        } else {
            log("generation \(generationID): model already trained, resuming")
        }
        timings.train = Date().timeIntervalSince(phaseStart)
        CoordinatorMetrics.phaseFinished("train", seconds: timings.train)

        phaseStart = Date()
        let readers = Array(Set(catalog.ratings.map(\.user))).sorted()
        try runPhase(.score, generationID: generationID, ids: readers, shardSize: configuration.scoreShardSize)
        timings.score = Date().timeIntervalSince(phaseStart)
        CoordinatorMetrics.phaseFinished("score", seconds: timings.score)

        try store.activate(generationID)
        timings.total = Date().timeIntervalSince(started)
        return (generationID, timings)
    }

    private func resumeOrCreateGeneration(books: [Book]) throws -> Int {
        let wanted = configuration.encoded()
        if let unfinished = try store.unfinishedGeneration(kind: GenerationKind.full.rawValue) {
            if unfinished.configuration == wanted {
                log("resuming generation \(unfinished.id)")
                return unfinished.id
            }
            log("generation \(unfinished.id) was left unfinished with another configuration; marking it failed")
            try store.markGeneration(unfinished.id, state: .failed)
        }
        let id = try store.createGeneration(kind: GenerationKind.full.rawValue, parentID: try store.activeGenerationID(), configuration: wanted)
        if configuration.textEncoder == .hashing {
            let idf = HashingTextEncoder.fitted(on: books.map(\.text), dimension: configuration.hashingDimension).inverseDocumentFrequency!
            try store.saveBlob(generationID: id, name: ModelBlob.textIDF, bytes: idf.blob)
        }
        log("generation \(id) created")
        return id
    }

    /// The coordinator's connection: a broker that is down or restarting is reported and waited
    /// for as long as it takes (the run's state is in the store; nothing is lost meanwhile).
    func makePublisher() throws -> Publisher {
        try Publisher(url: url, topology: topology, options: PublisherOptions(reconnect: .untilBack), events: { [log] in log("\($0)") })
    }

    func makeDeadLetterWatch() -> DeadLetterWatch {
        DeadLetterWatch(url: url, topology: topology, events: { [log] in log("\($0)") })
    }

    /// Publishes every shard of a phase that is not done and waits until all are.
    ///
    /// Each phase has its own connection: between phases the coordinator trains for minutes
    /// without a library call, so rabbitmq-c would send no heartbeat and the broker would close
    /// a connection kept open across them.
    func runPhase(_ kind: JobKind, generationID: Int, ids: [Int], shardSize: Int) throws {
        let publisher = try makePublisher()
        let watch = makeDeadLetterWatch()
        defer {
            publisher.close()
            watch.close()
        }
        // Watching before publishing, so that no dead letter of these jobs comes before the watch.
        try watch.open()
        try store.planShards(generationID: generationID, kind: kind, shards: shards(of: ids, size: shardSize))
        let planned = try store.shards(generationID: generationID, kind: kind)
        let published = try publish(kind, generationID: generationID, shards: planned.map { ($0.index, $0.ids) }, publisher: publisher)
        log("\(kind.rawValue): \(planned.count - published) of \(planned.count) shards already done, \(published) published")
        try waitFor(
            kind, generationID: generationID, indices: 0..<planned.count, label: kind.rawValue, publisher: publisher, watch: watch, pollInterval: 0.2)
    }

    /// Publishes the shards among `shards` that are not done (with `parameters`); returns how many.
    func publish(
        _ kind: JobKind, generationID: Int, shards: [(index: Int, ids: [Int])], parameters: [String: String] = [:], publisher: Publisher
    ) throws -> Int {
        let indices = shards.map(\.index)
        let states = try store.shardStates(generationID: generationID, kind: kind, indices: (indices.min() ?? 0)..<((indices.max() ?? -1) + 1))
        let pending = shards.filter { states[$0.index]?.state != .done }
        guard !pending.isEmpty else { return 0 }
        try store.requeueShards(generationID: generationID, kind: kind, indices: pending.map(\.index))
        for shard in pending {
            let job = JobMessage(
                jobID: "g\(generationID)-\(kind.rawValue)-\(shard.index)", generation: generationID,
                kind: JobMessage.Kind(rawValue: kind.rawValue)!, shard: .init(index: shard.index, ids: shard.ids),
                attempt: (states[shard.index]?.attempts ?? 0) + 1, parameters: parameters)
            try publisher.publish(job, on: topology)
        }
        try publisher.waitForConfirms()
        return pending.count
    }

    /// Waits until the shards `indices` of a phase are done, showing their progress under `label`.
    /// Fails when the store shows one failed, or when `watch` sees one of them dead-lettered
    /// that the store does not show (the worker could not write to it).
    func waitFor(
        _ kind: JobKind, generationID: Int, indices: Range<Int>, label: String, publisher: Publisher, watch: DeadLetterWatch,
        pollInterval: TimeInterval
    ) throws {
        var lastDone = -1
        var lastChange = Date()
        while true {
            let states = try store.shardStates(generationID: generationID, kind: kind, indices: indices)
            let done = states.values.filter { $0.state == .done }.count
            progress.update(phase: label, done: done, total: indices.count)
            CoordinatorMetrics.shards(kind, generationID: generationID, done: done, planned: indices.count)
            let failed = states.filter { $0.value.state == .failed }.sorted { $0.key < $1.key }
            if !failed.isEmpty {
                progress.finish()
                let names = failed.map { "\(kind.rawValue) shard \($0.key): \($0.value.error ?? "failed")" }
                throw RunFailure(description: "generation \(generationID) not activated; dead-lettered:\n  " + names.joined(separator: "\n  "))
            }
            if done == indices.count {
                progress.finish()
                return
            }
            if let unrecorded = try unrecordedDeadLetter(in: try watch.arrived(), kind: kind, generationID: generationID, indices: indices) {
                progress.finish()
                throw RunFailure(description: "generation \(generationID) not activated; dead-lettered (seen in the dead-letter queue; "
                                 + "the worker could not record it in \(store.location)):\n  \(unrecorded)")
            }
            if done != lastDone {
                lastDone = done
                lastChange = Date()
            } else if Date().timeIntervalSince(lastChange) > stallTimeout {
                throw RunFailure(description: "no \(kind.rawValue) shard finished for \(Int(stallTimeout)) s; are workers running against \(store.location)?")
            }
            try publisher.poll()
            Thread.sleep(forTimeInterval: pollInterval)
        }
    }
}

extension GenerationRunner {
    /// The first of `letters` that is a job of these planned shards (the plan's ids: a stale or
    /// forged copy does not count) that the store shows neither done nor failed, described with
    /// its reason.
    func unrecordedDeadLetter(in letters: [Delivery], kind: JobKind, generationID: Int, indices: Range<Int>) throws -> String? {
        for letter in letters {
            let job: JobMessage
            do { job = try JobMessage.decode(letter) } catch { continue }  // not a job: it names no shard
            guard job.generation == generationID, job.kind.rawValue == kind.rawValue, indices.contains(job.shard.index),
                let shard = try store.shard(generationID: generationID, kind: kind, index: job.shard.index),
                shard.ids == job.shard.ids, shard.state != .done, shard.state != .failed
            else { continue }
            let reason = letter.headers[BookrecHeader.reason]?.stringValue ?? "no reason given"
            return "\(kind.rawValue) shard \(job.shard.index): \(reason)"
        }
        return nil
    }
}

/// Progress on a terminal as a bar that redraws in place, elsewhere as plain lines.
public final class ProgressReporter {
    let interactive: Bool
    let write: (String) -> Void
    private var lastLine = ""
    private var lastPlain = Date.distantPast

    public init(interactive: Bool, write: @escaping (String) -> Void) {
        self.interactive = interactive
        self.write = write
    }

    func update(phase: String, done: Int, total: Int) {
        if interactive {
            let width = 30
            let filled = total > 0 ? width * done / total : width
            let line = "\r\(phase) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total) shards"
            if line != lastLine { write(line) }
            lastLine = line
        } else {
            let line = "\(phase): \(done)/\(total) shards done\n"
            if line != lastLine && (Date().timeIntervalSince(lastPlain) > 2 || done == total) {
                write(line)
                lastLine = line
                lastPlain = Date()
            }
        }
    }

    func finish() {
        if interactive && !lastLine.isEmpty { write("\n") }
        lastLine = ""
    }
}

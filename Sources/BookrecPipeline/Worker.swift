import BookrecCore
import BookrecQueue
import BookrecStore
import Foundation

/// A stateless worker: consumes encode, train and score jobs and writes their results to the store.
/// Everything a job needs is in its message or the store; what it caches (encoders, the item
/// matrix) is keyed by generation and rebuilt on demand.
public final class Worker: @unchecked Sendable {
    public struct Options: Sendable {
        public var concurrency = 1
        public var modelsDirectory = URL(fileURLWithPath: "models")
        public var topology = Topology()
        public var consumer = ConsumerOptions(prefetch: 1)
        public var name = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        public init() {}
    }

    let store: Store
    let url: AMQPURL
    let options: Options
    let stop: StopSignal
    let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var encoderSets: [Int: EncoderSet] = [:]
    private var scoringContexts: [Int: ScoringContext] = [:]
    private var implicitALSContexts: [Int: ImplicitALSContext] = [:]
    private var fatalProblem: String?

    /// Why the worker stopped on its own, if it did: the broker refused it (`AMQPError.isRefusal`),
    /// or it lacks a file a job needs (`MissingModelWeights`).
    public var stoppedBecause: String? { lock.withLock { fatalProblem } }

    private func stopOnOwnAccord(_ reason: String) {
        lock.withLock { fatalProblem = fatalProblem ?? reason }
        stop.raise()
    }

    public init(store: Store, url: AMQPURL, options: Options, stop: StopSignal, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.url = url
        self.options = options
        self.stop = stop
        self.log = log
    }

    /// Runs `concurrency` consumers per job kind until the stop signal; returns when all finished.
    public func run() {
        let group = DispatchGroup()
        for slot in 0..<max(options.concurrency, 1) {
            for kind in JobMessage.Kind.allCases {
                group.enter()
                let thread = Thread { [self] in
                    consumeUntilStopped(kind: kind, slot: slot)
                    group.leave()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
        }
        group.wait()
    }

    /// Consumes one queue; a broker that stays away is reported and retried, never fatal. A
    /// refusal (bad credentials, a queue declared with other arguments) stops the whole worker at
    /// once: no retry can change it.
    private func consumeUntilStopped(kind: JobMessage.Kind, slot: Int) {
        let queue = options.topology.queue(for: kind)
        let metrics = WorkerMetrics(topology: options.topology)
        var failures = 0
        while !stop.isRaised {
            do {
                let consumer = Consumer(url: url, topology: options.topology, options: options.consumer, events: { [log] event in
                    log("\(event)")
                    metrics.record(event)
                })
                try consumer.consume(queue: queue, shouldStop: { [stop] in stop.isRaised }) { delivery in
                    failures = 0
                    return metrics.measure(kind: kind) { handle(delivery) }
                }
            } catch let error as AMQPError where error.isRefusal {
                log("worker \(slot) on \(queue): the broker refused: \(error); stopping")
                stopOnOwnAccord("the broker refused: \(error)")
            } catch {
                failures += 1
                // 1, 2, 4, then every 5 s: a returning broker is found within seconds, and a few
                // connection attempts a minute cost nothing.
                let delay = min(5, 0.5 * pow(2, Double(min(failures, 6))))
                log("worker \(slot) on \(queue): \(error); retrying in \(String(format: "%.0f", delay)) s")
                let deadline = Date().addingTimeInterval(delay)
                while Date() < deadline && !stop.isRaised { Thread.sleep(forTimeInterval: 0.2) }
            }
        }
    }

    /// Runs one delivery and says what to do with it; records dead letters in the store.
    func handle(_ delivery: Delivery) -> Outcome {
        let job: JobMessage
        do {
            job = try JobMessage.decode(delivery)
        } catch {
            let reason = "\(error)"
            recordDeadLetter(job: nil, reason: reason, body: delivery.body)
            return .deadLetter(reason: reason)
        }
        FaultInjection.reached(job.kind.rawValue, "received")
        do {
            let kind = JobKind(rawValue: job.kind.rawValue)!
            let shard = try plannedShard(of: job, kind: kind)
            if shard.state == .done {
                // A redelivery of finished work (a worker died between commit and ack, or the
                // coordinator published it again): its results are already committed.
                log("\(job.jobID): shard already done, acknowledging the redelivery")
                return .ack
            }
            guard let generation = try store.generation(job.generation), generation.state == .building else {
                throw PermanentJobError(
                "generation \(job.generation) is no longer being built; its \(kind.rawValue) shard \(job.shard.index) is not run", failsShard: false)
            }
            try store.markShardRunning(generationID: job.generation, kind: kind, index: job.shard.index, worker: options.name)
            FaultInjection.reached(job.kind.rawValue, "running")
            switch job.kind {
            case .encode:
                let encoders = try encoderSet(generationID: job.generation)
                let summary = try EncodeJobHandler(store: store)
                    .run(generationID: job.generation, shardIndex: job.shard.index, bookIDs: job.shard.ids, encoders: encoders)
                log("\(job.jobID): \(summary)")
                WorkerMetrics.booksEncoded(job.shard.ids.count)
            case .train:
                guard let round = job.parameters["round"].flatMap(Int.init) else {
                    throw PermanentJobError("train job \(job.jobID) has no integer parameter round")
                }
                let summary = try implicitALSContext(generationID: job.generation)
                    .run(store: store, shardIndex: job.shard.index, ids: job.shard.ids, round: round)
                log("\(job.jobID): \(summary)")
            case .score:
                let context = try scoringContext(generationID: job.generation)
                let lists = try context.score(store: store, userIDs: job.shard.ids)
                FaultInjection.reached("score", "before-commit")
                try store.completeScoreShard(generationID: job.generation, index: job.shard.index, lists: lists)
            }
            FaultInjection.reached(job.kind.rawValue, "after-commit")
            return .ack
        } catch let error as MissingModelWeights {
            // Another worker may hold the weights: the job goes back to the queue unfailed, and
            // this worker stops rather than take the next one.
            log("\(job.jobID): this worker cannot run it: \(error); handing it back and stopping")
            stopOnOwnAccord("this worker cannot run \(job.kind.rawValue) jobs: \(error)")
            return .requeue(reason: error.description)
        } catch let error as PermanentJobError {
            recordDeadLetter(job: job, reason: error.description, body: delivery.body, failingShard: error.failsShard)
            return .deadLetter(reason: error.description)
        } catch {
            let reason = "\(error)"
            if case .giveUp(let final) = options.consumer.retry.decision(afterFailedAttempt: delivery.attempt, error: reason) {
                recordDeadLetter(job: job, reason: final, body: delivery.body)
            }
            log("\(job.jobID) attempt \(delivery.attempt) failed: \(reason)")
            return .retry(error: reason)
        }
    }

    /// The shard the job names, if the job is the plan's: a job is checked against the plan the
    /// coordinator stored, not believed, so a stale or forged copy (another shard's ids, a shard
    /// never planned) can neither write results nor mark a shard done.
    private func plannedShard(of job: JobMessage, kind: JobKind) throws -> ShardRecord {
        guard try store.generation(job.generation) != nil else {
            throw PermanentJobError("generation \(job.generation) does not exist in \(store.location)")
        }
        guard let shard = try store.shard(generationID: job.generation, kind: kind, index: job.shard.index) else {
            throw PermanentJobError("\(kind.rawValue) shard \(job.shard.index) is not in the plan of generation \(job.generation)", failsShard: false)
        }
        guard shard.ids == job.shard.ids else {
            throw PermanentJobError(
                "\(kind.rawValue) shard \(job.shard.index) of generation \(job.generation) names other ids than its plan (\(job.shard.ids.count) ids, \(shard.ids.count) planned)",
                failsShard: false)
        }
        return shard
    }

    /// Records a dead letter in the store, where the coordinator learns that the shard failed.
    /// The store may be what failed (busy, full), so this is retried for a few seconds; if it
    /// still fails, the coordinator learns of the dead letter from the dead-letter queue, which it
    /// watches while it waits (`DeadLetterWatch`).
    private func recordDeadLetter(job: JobMessage?, reason: String, body: Data, failingShard: Bool = true) {
        log("dead-lettering \(job?.jobID ?? "a message"): \(reason)")
        let backoff = Backoff(initial: 0.25, maximum: 2)
        let attempts = 5
        for attempt in 1...attempts {
            do {
                try store.recordDeadLetter(
                    generationID: job?.generation, kind: job?.kind.rawValue, shardIndex: job?.shard.index, reason: reason, body: body,
                    failsShard: failingShard)
                return
            } catch {
                let delay = backoff.delay(afterAttempt: attempt)
                log("could not record the dead letter in the store (attempt \(attempt) of \(attempts)): \(error)"
                    + (attempt < attempts ? "; retrying in \(delay) s" : "; giving up"))
                if attempt < attempts { Thread.sleep(forTimeInterval: delay) }
            }
        }
    }

    private func encoderSet(generationID: Int) throws -> EncoderSet {
        try cached(\.encoderSets, generationID: generationID) {
            guard let record = try store.generation(generationID) else { throw PermanentJobError("generation \(generationID) does not exist") }
            return try EncoderSet(
                configuration: try RunConfiguration.decoded(record.configuration), generationID: generationID, store: store,
                modelsDirectory: options.modelsDirectory)
        }
    }

    private func implicitALSContext(generationID: Int) throws -> ImplicitALSContext {
        try cached(\.implicitALSContexts, generationID: generationID) { try ImplicitALSContext(store: store, generationID: generationID) }
    }

    private func scoringContext(generationID: Int) throws -> ScoringContext {
        try cached(\.scoringContexts, generationID: generationID) { try ScoringContext(store: store, generationID: generationID) }
    }

    /// What a worker keeps of one generation at a time, made on first use.
    private func cached<Value>(
        _ cache: ReferenceWritableKeyPath<Worker, [Int: Value]>, generationID: Int, make: () throws -> Value
    ) throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let value = self[keyPath: cache][generationID] { return value }
        let value = try make()
        self[keyPath: cache] = [generationID: value]
        return value
    }
}

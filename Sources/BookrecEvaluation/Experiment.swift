import BookrecCore
import BookrecData
import BookrecImaging
import Foundation

/// The offline evaluation of docs/EVALUATION.md: one split, every baseline and bookrec's
/// ablation, hyper-parameters chosen on the validation split.
public struct Experiment {
    public var seed: UInt64 = 2024
    /// Shortens training for a quick look (tests, smoke runs); the report says so.
    public var quick = false
    /// Evaluates bookrec's main model and the content-only profile only, skipping the other
    /// baselines and the ablation.
    public var mainModelOnly = false
    /// Scores only the first this many test readers of each protocol, for quick iterations; the
    /// report says so.
    public var testReaderLimit: Int?
    /// Evaluates random, the content-only profile and bookrec with text only, cover only and
    /// fused (the rows that compare encoders).
    public var modalitiesOnly = false
    /// Keeps `base`'s item-item weight instead of choosing it on validation.
    public var fixedItemItemScale = false
    public var base = ModelConfiguration()
    /// How bookrec's models place the books they have no ratings for.
    public var placement = ContentPlacement()
    public var log: (String) -> Void = { _ in }
    /// Epochs of the ablation rows that only training gives anything: the original design's head
    /// alone and the rating objective.
    static let trainedEpochs = 4

    public init() {}

    public struct Report {
        public var rows: [EvaluationRow]
        public var notes: [String]
        public var warmReaders: Int
        public var coldReaders: Int
        public var split: EvaluationSplit
    }

    /// The default text encoder of the experiment: hashed words and pairs, IDF fitted on the catalog.
    public static func hashedText(catalog: CatalogImport) -> Matrix {
        let texts = catalog.books.map(\.text)
        return HashingTextEncoder.fitted(on: texts).encode(texts)
    }

    /// One row per catalog book from `encode` for its decoded cover; zero where it has none.
    public static func coverFeatures(catalog: CatalogImport, dimension: Int, encode: (RGBImage) throws -> [Float]) throws -> Matrix {
        var cover = Matrix(rows: catalog.books.count, columns: dimension)
        let decoder = ImageDecoder()
        for (b, book) in catalog.books.enumerated() {
            guard let bytes = catalog.covers[book.id] else { continue }
            cover.setRow(b, try encode(try decoder.decode(bytes)))
        }
        return cover
    }

    /// Runs every model on one split; `text` and `cover` hold one encoder row per catalog book.
    public func run(catalog: CatalogImport, text: Matrix, cover: Matrix, encoders: String) throws -> Report {
        let started = Date()
        let books = catalog.books
        let features = BookFeatures(text: text, cover: cover)
        let split = EvaluationSplit(ratings: catalog.ratings, seed: seed)
        let data = IndexedData(bookIDs: books.map(\.id), training: split.training)
        let evaluator = Evaluator(data: data, split: split)
        log("split: \(split.training.count) training, \(split.validation.count) validation, \(split.warmTest.count) warm test, \(split.coldTest.count) cold test ratings; \(evaluator.warmReaderCount) warm and \(evaluator.coldReaderCount) cold test readers")

        var rows: [EvaluationRow] = []
        var notes: [String] = []
        func evaluate(_ ranker: Ranker, warm: Bool = true, cold: Bool, since start: Date) {
            var row = EvaluationRow(name: ranker.name)
            if warm { row.warm = evaluator.warm(ranker, readerLimit: testReaderLimit) }
            if cold { row.cold = evaluator.cold(ranker, readerLimit: testReaderLimit) }
            row.rmse = evaluator.rmse(ranker)
            row.seconds = Date().timeIntervalSince(start)
            log(String(format: "%@: warm NDCG@10 %@, cold NDCG@10 %@ (%.0f s)", ranker.name, row.warm.map { String(format: "%.4f", $0.ndcg10) } ?? "n/a", row.cold.map { String(format: "%.4f", $0.ndcg10) } ?? "n/a", row.seconds))
            rows.append(row)
        }
        /// Fits each candidate, keeps the best on validation: NDCG@10 on warm books (a sample of
        /// 4,000 readers), on cold books (`.cold`), their mean for models that serve both
        /// (`.warmAndCold`), or the RMSE of the ratings (`.rmse`).
        func tuned<R: Ranker>(_ label: String, on criterion: ValidationCriterion = .warm, _ candidates: [(String, () throws -> R)]) throws -> R {
            var best: (R, Double, String)?
            for (setting, make) in candidates {
                let ranker = try make()
                let score: Double
                switch criterion {
                case .rmse:
                    let rmse = evaluator.rmse(ranker, onValidation: true) ?? .infinity
                    log(String(format: "  %@ %@: validation RMSE %.4f", label, setting, rmse))
                    score = -rmse
                default:
                    let warmScore = criterion == .cold ? nil : evaluator.warm(ranker, onValidation: true, readerLimit: 4000).ndcg10
                    let coldScore = criterion == .warm ? nil : evaluator.cold(ranker, onValidation: true).ndcg10
                    log(String(format: "  %@ %@: validation NDCG@10 warm %@, cold %@", label, setting,
                               warmScore.map { String(format: "%.4f", $0) } ?? "n/a", coldScore.map { String(format: "%.4f", $0) } ?? "n/a"))
                    let scores = [warmScore, coldScore].compactMap { $0 }
                    score = scores.reduce(0, +) / Double(scores.count)
                }
                if best == nil || score > best!.1 { best = (ranker, score, setting) }
            }
            if candidates.count > 1 {
                notes.append("\(label): chose \(best!.2) on \(criterion.description) (\(String(format: "%.4f", abs(best!.1)))) among \(candidates.map(\.0).joined(separator: ", ")).")
            }
            return best!.0
        }

        var start = Date()
        if !mainModelOnly {
            evaluate(RandomRanker(books: books.count, seed: seed), cold: true, since: start)
        }
        if !mainModelOnly && !modalitiesOnly {
            start = Date()
            evaluate(PopularityRanker(data), cold: false, since: start)
            start = Date()
            evaluate(BiasRanker(data), cold: false, since: start)
            start = Date()
            evaluate(ItemKNNRanker(data), cold: false, since: start)
            start = Date()
            let epochsMF = quick ? 3 : 30
            evaluate(
                try tuned("BPR-MF", [0.002, 0.01].map { regularization in
                    ("regularization \(regularization)", { BPRMatrixFactorization(data, epochs: epochsMF, regularization: Float(regularization), seed: seed) })
                }), cold: false, since: start)
            start = Date()
            evaluate(
                try tuned("biased MF", on: .rmse, [0.02, 0.05, 0.1].map { regularization in
                    ("regularization \(regularization)", { BiasedMFRanker(data, epochs: quick ? 3 : 25, regularization: Float(regularization), seed: seed) })
                }), cold: false, since: start)
            start = Date()
            evaluate(
                try tuned("RP3beta", [(0.5, 0.2), (0.5, 0.35), (0.8, 0.2), (0.8, 0.35), (0.8, 0.5)].map { alpha, beta in
                    ("α \(alpha), β \(beta), 200 neighbours", { RP3betaRanker(data, alpha: Float(alpha), beta: Float(beta), neighbourCount: 200) })
                }), cold: false, since: start)
            start = Date()
            let iALSFactors = quick ? 64 : 512
            let ials = try tuned("iALS", [(0.02, 0.003), (0.05, 0.001), (0.05, 0.003), (0.05, 0.01)].map { weight, regularization in
                ("\(iALSFactors) factors, α₀ \(weight), λ \(regularization)", {
                    var configuration = ImplicitALSConfiguration()
                    configuration.factors = iALSFactors
                    configuration.epochs = quick ? 2 : 8
                    configuration.unobservedWeight = Float(weight)
                    configuration.regularization = Float(regularization)
                    configuration.seed = seed
                    return try ImplicitALSRanker(data, configuration: configuration)
                })
            })
            evaluate(ials, cold: false, since: start)
            start = Date()
            // Relevance here is a rating of 4 or more, so a careful user of EASE^R also tries
            // weighing the rated books of a reader's row by their ratings; B is fitted once per λ.
            var easeModels: [Float: EASE] = [:]
            func easeModel(_ regularization: Float) throws -> EASE {
                if let model = easeModels[regularization] { return model }
                let model = try EASE(interactions: data.interactions, regularization: regularization)
                easeModels[regularization] = model
                return model
            }
            let readerRows: [(label: String, neutral: Float, disliked: Float)] = [
                ("every rating 1", 1, 1), ("ratings of 4 and 5 only", 0, 0), ("3 counts 0.5, 1 and 2 nothing", 0.5, 0),
            ]
            let ease = try tuned("EASE^R", [30, 80, 250].flatMap { regularization in
                readerRows.map { row in
                    ("λ \(regularization), \(row.label)", {
                        EASERanker(data, model: try easeModel(Float(regularization)), neutralWeight: row.neutral, dislikedWeight: row.disliked)
                    })
                }
            })
            easeModels = [:]
            evaluate(ease, cold: false, since: start)
            start = Date()
            // The collaborative model that new books' neighbours feed is the best warm one above.
            evaluate(
                try tuned("content→collaborative", on: .cold, [5, 10, 20].map { neighbours in
                    ("\(neighbours) neighbours", { ContentToCollaborativeRanker(data, content: text, collaborative: ease, neighbourCount: neighbours) })
                } + [(50, 0.3), (100, 0.3), (100, 0.1), (100, 1)].map { neighbours, ridge in
                    // The ridge weights bookrec places new books with, over the whole hashed text.
                    ("\(neighbours) neighbours, ridge weights μ \(ridge)", {
                        ContentToCollaborativeRanker(data, content: text, collaborative: ease, neighbourCount: neighbours, ridge: Float(ridge))
                    })
                }), warm: false, cold: true, since: start)
        }
        do {
            start = Date()
            var contentFeatures = Matrix(rows: books.count, columns: text.columns + cover.columns)
            for b in 0..<books.count { contentFeatures.setRow(b, text.row(b) + cover.row(b).map { $0 * 0.5 }) }
            let profile = ContentProfileRanker(data, content: contentFeatures)
            evaluate(profile, cold: true, since: start)
            // The yardstick for the validation figures that bookrec's choices are made on.
            log(String(
                format: "  content-only profile: validation NDCG@10 warm %.4f, cold %.4f",
                evaluator.warm(profile, onValidation: true, readerLimit: 4000).ndcg10, evaluator.cold(profile, onValidation: true).ndcg10))
        }

        var base = self.base
        base.seed = seed
        if quick { base.epochs = min(base.epochs, 2) }
        func bookrec(_ name: String, _ change: @escaping (inout ModelConfiguration) -> Void) throws -> BookrecRanker {
            var configuration = base
            change(&configuration)
            return try BookrecRanker(name: name, configuration: configuration, placement: placement, data: data, features: features, log: log)
        }
        start = Date()
        // The closed-form model, fitted once; the weight of its item-item term is chosen on validation.
        let fitted = try bookrec("bookrec: fused, personalised") { _ in }
        let scales = mainModelOnly || fixedItemItemScale || base.itemItem == nil ? [base.itemItem?.scale ?? 0] : [8, 16, 32]
        let main = try tuned("bookrec", on: .warmAndCold, scales.map { scale in
            ("item-item weight \(scale)", { fitted.withItemItemScale(Float(scale)) })
        })
        base = main.configuration
        evaluate(main, cold: true, since: start)
        let ablation: [(name: String, change: (inout ModelConfiguration) -> Void)] = [
            ("bookrec: text only, personalised", { (c: inout ModelConfiguration) in c.modalities = .text }),
            ("bookrec: cover only, personalised", { (c: inout ModelConfiguration) in c.modalities = .cover }),
            // The original design's head and its rating objective exist only through training.
            ("bookrec: fused, not personalised (seed head)", { (c: inout ModelConfiguration) in c.personalised = false; c.epochs = Self.trainedEpochs }),
            ("bookrec: text only, not personalised", { (c: inout ModelConfiguration) in c.personalised = false; c.modalities = .text; c.epochs = Self.trainedEpochs }),
            ("bookrec: cover only, not personalised", { (c: inout ModelConfiguration) in c.personalised = false; c.modalities = .cover; c.epochs = Self.trainedEpochs }),
            ("bookrec: fused, personalised, no collaborative residual", { (c: inout ModelConfiguration) in c.collaborativeResidual = false }),
            ("bookrec: fused, personalised, MSE objective", { (c: inout ModelConfiguration) in c.objective = .mse; c.itemItem = nil; c.epochs = Self.trainedEpochs }),
        ]
        let variants = mainModelOnly ? [] : modalitiesOnly ? Array(ablation.prefix(2)) : ablation
        for variant in variants {
            start = Date()
            evaluate(try bookrec(variant.name, variant.change), cold: true, since: start)
        }
        if let testReaderLimit { notes.append("Only the first \(testReaderLimit) test readers of each protocol were scored.") }
        notes.append("Encoders: \(encoders).")
        notes.append(String(format: "Total wall time %.0f s.", Date().timeIntervalSince(started)))
        return Report(rows: rows, notes: notes, warmReaders: evaluator.warmReaderCount, coldReaders: evaluator.coldReaderCount, split: split)
    }
}

/// What a hyper-parameter is chosen on.
enum ValidationCriterion: CustomStringConvertible {
    case warm, cold, warmAndCold, rmse

    var description: String {
        switch self {
        case .warm: return "validation NDCG@10"
        case .cold: return "cold validation NDCG@10"
        case .warmAndCold: return "the mean of warm and cold validation NDCG@10"
        case .rmse: return "validation RMSE"
        }
    }
}

extension Experiment.Report {
    /// The Markdown table of docs/EVALUATION.md.
    public var markdown: String {
        func f(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }
        var lines = [
            "| model | warm Recall@20 | warm NDCG@10 | warm HR@10 | warm MAP@10 | warm Cov@10 | cold Recall@10 | cold NDCG@10 | cold HR@10 | RMSE | time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows {
            lines.append(
                "| \(row.name) | \(f(row.warm?.recall20)) | \(f(row.warm?.ndcg10)) | \(f(row.warm?.hitRate10)) | \(f(row.warm?.map10)) | \(f(row.warm?.coverage10)) | \(f(row.cold?.recall10)) | \(f(row.cold?.ndcg10)) | \(f(row.cold?.hitRate10)) | \(f(row.rmse)) | \(String(format: "%.0f", row.seconds)) |")
        }
        lines.append("")
        lines.append("Split: \(split.training.count) training, \(split.validation.count) validation, \(split.warmTest.count) warm-test and \(split.coldTest.count) cold-test ratings (\(split.coldBooks.count) cold books); \(warmReaders) warm-test readers, \(coldReaders) cold-test readers.")
        lines += notes.map { "- \($0)" }
        return lines.joined(separator: "\n")
    }
}

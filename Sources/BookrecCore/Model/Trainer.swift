import Foundation

/// Adam's moment estimates for one flat parameter array; sparse rows are updated lazily
/// (only the rows a batch touched), which keeps reader updates cheap.
struct AdamMoments {
    var first: [Float]
    var second: [Float]
    static let beta1: Float = 0.9
    static let beta2: Float = 0.999
    static let epsilon: Float = 1e-8

    init(count: Int) {
        first = [Float](repeating: 0, count: count)
        second = [Float](repeating: 0, count: count)
    }

    mutating func step(_ parameters: inout [Float], _ gradient: [Float], offset: Int = 0, rate: Float, time: Int) {
        let correction1 = 1 - powf(Self.beta1, Float(time))
        let correction2 = 1 - powf(Self.beta2, Float(time))
        for i in gradient.indices {
            let j = offset + i
            first[j] = Self.beta1 * first[j] + (1 - Self.beta1) * gradient[i]
            second[j] = Self.beta2 * second[j] + (1 - Self.beta2) * gradient[i] * gradient[i]
            parameters[j] -= rate * (first[j] / correction1) / ((second[j] / correction2).squareRoot() + Self.epsilon)
        }
    }
}

/// Trains ModelParameters with Adam on minibatches; the same seed, data and configuration give
/// the same parameters bit for bit.
public struct Trainer {
    public let configuration: ModelConfiguration

    public init(configuration: ModelConfiguration) {
        self.configuration = configuration
    }

    /// `solveImplicitALSRound` runs the rounds of the collaborative start elsewhere (the
    /// pipeline runs them on the workers); nil solves them in this process.
    public func train(
        features: BookFeatures, interactions: Interactions, solveImplicitALSRound: ImplicitALS.RoundSolver? = nil,
        progress: (_ epoch: Int, _ meanLoss: Float) -> Void = { _, _ in }
    ) throws -> ModelParameters {
        precondition(features.count == interactions.books, "features for \(features.count) books, ratings for \(interactions.books)")
        var parameters = ModelParameters(
            configuration: configuration, textDimension: features.text.columns, coverDimension: features.cover.columns,
            readers: interactions.readers, books: interactions.books)
        if configuration.personalised {
            let likedBooks = interactions.likedBooks()
            if configuration.modalities.usesText {
                var generator = SeededGenerator(seed: configuration.seed &+ 3)
                parameters.startTextProjection(principalProfileDirections(
                    text: features.text, likedBooks: likedBooks, rank: configuration.contentFactors, generator: &generator))
            }
            parameters.startReadersAtTheirProfiles(
                content: contentSide(parameters, features), likedBooks: likedBooks, scale: configuration.profileScale)
            if configuration.collaborativeResidual {
                try parameters.startCollaborativeFactorsFromImplicitALS(
                    interactions: interactions, configuration: configuration.implicitALS, scale: configuration.collaborativeScale,
                    solveRound: solveImplicitALSRound)
            }
            if configuration.objective == .mse {
                parameters.startAtTheBiasModel(interactions)
            }
        }
        var optimizer = Optimizer(shapeOf: parameters)
        var generator = SeededGenerator(seed: configuration.seed &+ 1)
        var order = Array(0..<interactions.count)
        // A row's step sums its examples in the batch, so a batch holding all of a small catalog's
        // ratings would step each book by its whole history at once and diverge. At least eight
        // batches per epoch keep a row's examples per batch what they are on the full data (where
        // the configured size already gives more than eight).
        let batchSize = min(configuration.batchSize, max(1024, interactions.count / 8))
        for epoch in stride(from: 1, through: configuration.epochs, by: 1) {
            order.shuffle(using: &generator)
            var epochLoss: Float = 0
            var batches = 0
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let examples = order[start..<min(start + batchSize, order.count)].map {
                    example(rating: $0, interactions: interactions, generator: &generator)
                }
                let (loss, gradient) = parameters.lossAndGradient(examples: examples, features: features, configuration: configuration)
                optimizer.apply(
                    gradient, to: &parameters, rate: configuration.learningRate,
                    sparseRate: configuration.sparseLearningRate * Float(examples.count))
                epochLoss += loss
                batches += 1
            }
            if configuration.sparsePasses > 0 {
                let content = contentSide(parameters, features)
                for _ in 0..<configuration.sparsePasses {
                    order.shuffle(using: &generator)
                    for index in order {
                        parameters.sparseStep(
                            example(rating: index, interactions: interactions, generator: &generator), content: content,
                            configuration: configuration, rate: configuration.sparseLearningRate)
                    }
                }
            }
            progress(epoch, epochLoss / Float(max(batches, 1)))
        }
        return parameters
    }

    private func contentSide(_ parameters: ModelParameters, _ features: BookFeatures) -> ItemSide {
        parameters.itemSide(features, modalities: configuration.modalities, residualRows: [Int?](repeating: nil, count: features.count))
    }

    private func example(rating index: Int, interactions: Interactions, generator: inout SeededGenerator) -> TrainingExample {
        let reader = Int(interactions.reader[index])
        let book = Int(interactions.book[index])
        let usesResidual = Float.random(in: 0..<1, using: &generator) >= configuration.residualDropout
        switch configuration.objective {
        case .mse:
            return TrainingExample(reader: reader, book: book, target: normalizedRating(interactions.rating[index]), usesResidual: usesResidual)
        case .bpr:
            let negative = interactions.sampleNegative(for: reader, using: &generator)
            let negativeUsesResidual = Float.random(in: 0..<1, using: &generator) >= configuration.residualDropout
            return TrainingExample(
                reader: reader, book: book, negative: negative, usesResidual: usesResidual, negativeUsesResidual: negativeUsesResidual)
        }
    }
}

/// Adam over the dense weights except b_v; plain SGD over the sparse rows (readers and residuals).
///
/// A reader appears in about one example per batch and a book in a few dozen: Adam, which moves
/// every touched parameter by about its learning rate per step, would give each reader only a
/// dozen small steps per epoch. SGD on the summed gradient behaves like per-example SGD (as in
/// matrix factorisation) and lets the rows learn at the pace of their data.
struct Optimizer {
    var time = 0
    var textWeights, textBias, coverWeights, projection, head, headBias: AdamMoments

    init(shapeOf parameters: ModelParameters) {
        textWeights = AdamMoments(count: parameters.textWeights.values.count)
        textBias = AdamMoments(count: parameters.textBias.count)
        coverWeights = AdamMoments(count: parameters.coverWeights.values.count)
        projection = AdamMoments(count: parameters.projection.values.count)
        head = AdamMoments(count: parameters.head.count)
        headBias = AdamMoments(count: 1)
    }

    /// `sparseRate` multiplies the batch-mean gradient of the sparse rows.
    mutating func apply(_ gradient: Gradient, to parameters: inout ModelParameters, rate: Float, sparseRate: Float) {
        time += 1
        textWeights.step(&parameters.textWeights.values, gradient.textWeights.values, rate: rate, time: time)
        textBias.step(&parameters.textBias, gradient.textBias, rate: rate, time: time)
        coverWeights.step(&parameters.coverWeights.values, gradient.coverWeights.values, rate: rate, time: time)
        // b_v stays at 0: a book without a cover (v = 0) then fuses as its text alone (v′ = 0)
        // instead of as a made-up cover shared by every such book, and its co-attention stays O(d).
        projection.step(&parameters.projection.values, gradient.projection.values, rate: rate, time: time)
        head.step(&parameters.head, gradient.head, rate: rate, time: time)
        var c = [parameters.headBias]
        headBias.step(&c, [gradient.headBias], rate: rate, time: time)
        parameters.headBias = c[0]
        let k = parameters.readerVectors.columns
        let r = parameters.residualVectors.columns
        // Each row is updated on its own, so the order of the dictionary does not matter.
        for (reader, row) in gradient.readerVectors {
            for f in 0..<k { parameters.readerVectors.values[reader * k + f] -= sparseRate * row[f] }
        }
        for (reader, value) in gradient.readerBias { parameters.readerBias[reader] -= sparseRate * value }
        for (book, row) in gradient.residualVectors {
            for f in 0..<r { parameters.residualVectors.values[book * r + f] -= sparseRate * row[f] }
        }
        for (book, value) in gradient.residualBias { parameters.residualBias[book] -= sparseRate * value }
    }
}

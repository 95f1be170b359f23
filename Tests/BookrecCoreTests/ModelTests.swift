import BookrecCore
import XCTest

/// A tiny synthetic catalog: readers who like "even" books and readers who like "odd" ones, with
/// text features that reveal parity and noisy cover features.
struct TinyCatalog {
    let features: BookFeatures
    let interactions: Interactions

    init(books: Int = 60, readers: Int = 16, textDimension: Int = 10, coverDimension: Int = 6, seed: UInt64 = 7) {
        var generator = SeededGenerator(seed: seed)
        var text = Matrix(rows: books, columns: textDimension)
        var cover = Matrix(rows: books, columns: coverDimension)
        for b in 0..<books {
            text[b, b % 2] = 1
            for j in 2..<textDimension { text[b, j] = Float.random(in: 0..<0.3, using: &generator) }
            // Every third book has no cover, as most real books.
            if b % 3 != 0 {
                for j in 0..<coverDimension { cover[b, j] = Float.random(in: 0..<1, using: &generator) }
            }
        }
        features = BookFeatures(text: text, cover: cover)
        var triples: [(reader: Int, book: Int, rating: Float)] = []
        for u in 0..<readers {
            for b in 0..<books where b % 2 == u % 2 && (b + u) % 5 != 0 {
                triples.append((u, b, Float(4 + (b + u) % 2)))
            }
            // A few explicit dislikes, so that the rating objective sees both sides.
            for b in 0..<books where b % 2 != u % 2 && (b + u) % 6 == 1 {
                triples.append((u, b, 1))
            }
        }
        interactions = Interactions(readers: readers, books: books, triples: triples)
    }
}

final class ModelTests: XCTestCase {
    func configuration(_ objective: Objective, residual: Bool = true, personalised: Bool = true) -> ModelConfiguration {
        var configuration = ModelConfiguration()
        configuration.fusedDimension = 4
        configuration.factors = 4
        configuration.objective = objective
        configuration.collaborativeResidual = residual
        configuration.personalised = personalised
        configuration.readerRegularization = 0.05
        configuration.residualRegularization = 0.05
        configuration.weightRegularization = 0.01
        return configuration
    }

    /// Parameters away from their initial zeros, so that every gradient term is exercised.
    func perturbed(_ configuration: ModelConfiguration, _ catalog: TinyCatalog) -> ModelParameters {
        var parameters = ModelParameters(
            configuration: configuration, textDimension: catalog.features.text.columns,
            coverDimension: catalog.features.cover.columns, readers: catalog.interactions.readers, books: catalog.interactions.books)
        var generator = SeededGenerator(seed: 99)
        func jitter(_ values: inout [Float]) {
            for i in values.indices { values[i] += 0.3 * generator.nextGaussian() }
        }
        jitter(&parameters.textBias)
        jitter(&parameters.coverBias)
        jitter(&parameters.head)
        jitter(&parameters.projection.values)
        jitter(&parameters.readerVectors.values)
        jitter(&parameters.readerBias)
        jitter(&parameters.residualVectors.values)
        jitter(&parameters.residualBias)
        parameters.headBias = 0.2
        return parameters
    }

    func examples(_ objective: Objective, _ catalog: TinyCatalog) -> [TrainingExample] {
        (0..<catalog.interactions.count).map { i in
            let u = Int(catalog.interactions.reader[i]), b = Int(catalog.interactions.book[i])
            return TrainingExample(
                reader: u, book: b, negative: objective == .bpr ? (b + 5) % catalog.interactions.books : nil,
                target: normalizedRating(catalog.interactions.rating[i]), usesResidual: i % 2 == 0,
                negativeUsesResidual: i % 3 == 0)
        }
    }

    /// `coverless` sets b_v below zero, so that books without a cover take the co-attention's
    /// uniform path (v′ = 0) and books with one the general path.
    func checkGradient(_ objective: Objective, personalised: Bool = true, coverless: Bool = false) {
        let catalog = TinyCatalog()
        let configuration = configuration(objective, personalised: personalised)
        var parameters = perturbed(configuration, catalog)
        if coverless { parameters.coverBias = parameters.coverBias.map { -1 - abs($0) } }
        let batch = examples(objective, catalog)
        let (_, gradient) = parameters.lossAndGradient(examples: batch, features: catalog.features, configuration: configuration)
        func loss(_ p: ModelParameters) -> Double {
            Double(p.lossAndGradient(examples: batch, features: catalog.features, configuration: configuration).loss)
        }
        let h: Float = 1e-2
        func check(_ name: String, _ analytic: Float, _ keyPath: WritableKeyPath<ModelParameters, Float>) {
            var plus = parameters, minus = parameters
            plus[keyPath: keyPath] += h
            minus[keyPath: keyPath] -= h
            let numeric = (loss(plus) - loss(minus)) / Double(2 * h)
            XCTAssertEqual(Double(analytic), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(objective) \(name)")
        }
        for i in [0, 3, 7, 12] { check("W_t[\(i)]", gradient.textWeights.values[i], \.textWeights.values[i]) }
        for i in [0, 2] { check("b_t[\(i)]", gradient.textBias[i], \.textBias[i]) }
        for i in [1, 5, 9] { check("W_v[\(i)]", gradient.coverWeights.values[i], \.coverWeights.values[i]) }
        for i in [1, 3] { check("b_v[\(i)]", gradient.coverBias[i], \.coverBias[i]) }
        for i in [0, 4, 11, 20] { check("P[\(i)]", gradient.projection.values[i], \.projection.values[i]) }
        for i in [0, 5] { check("w[\(i)]", gradient.head[i], \.head[i]) }
        check("c", gradient.headBias, \.headBias)
        if personalised {
            for (u, f) in [(0, 0), (3, 2), (8, 1)] {
                check("p_\(u)[\(f)]", gradient.readerVectors[u]?[f] ?? 0, \.readerVectors.values[u * 4 + f])
            }
        }
        if objective == .mse { check("β_2", gradient.readerBias[2] ?? 0, \.readerBias[2]) }
        let r = parameters.residualVectors.columns
        for (b, f) in [(2, 0), (5, 1), (6, 1)] {
            check("e_\(b)[\(f)]", gradient.residualVectors[b]?[f] ?? 0, \.residualVectors.values[b * r + f])
        }
        check("β_b4", gradient.residualBias[4] ?? 0, \.residualBias[4])
    }

    /// Readers whose best unrated book has their parity (the tiny catalog's taste).
    func readersWhoseTopBookMatchesTheirTaste(_ parameters: ModelParameters, _ side: ItemSide, _ catalog: TinyCatalog) -> Int {
        let scorer = Scorer(side: side, bookIDs: Array(1...catalog.interactions.books))
        let top = scorer.topK(readers: parameters.readerVectors, readerBias: parameters.readerBias, slots: Array(0..<parameters.readerVectors.rows), excluded: catalog.interactions.booksByReader, k: 1)
        return top.enumerated().filter { $0.element[0].book % 2 == $0.offset % 2 }.count
    }

    func testBPRGradientMatchesFiniteDifferences() { checkGradient(.bpr) }
    func testMSEGradientMatchesFiniteDifferences() { checkGradient(.mse) }
    func testNonPersonalGradientMatchesFiniteDifferences() { checkGradient(.bpr, personalised: false) }
    func testGradientMatchesFiniteDifferencesWhenBooksWithoutCoverFuseUniformly() { checkGradient(.bpr, coverless: true) }

    /// Before any training, the content factors are a projection of the text and readers sit at
    /// their profiles: the model already ranks like the content-only profile.
    func testUntrainedModelRanksLikeTheContentProfile() throws {
        let catalog = TinyCatalog()
        let (_, parameters) = try closedFormModel(catalog, fusedDimension: 64, factors: 40)
        XCTAssertEqual(parameters.residualVectors.columns, 8, "the residual lives in the k − d/2 collaborative factors")
        let side = parameters.itemSide(catalog.features, modalities: .both, residualRows: Array(0..<catalog.interactions.books).map { $0 })
        // A book without a cover: its content factors are exactly G t, so their dot products
        // follow those of the texts.
        let text = catalog.features.text
        func dense(_ b: Int) -> [Float] {
            var row = [Float](repeating: 0, count: text.columns)
            for n in text.rowStart[b]..<text.rowStart[b + 1] { row[Int(text.indices[n])] = text.values[n] }
            return row
        }
        func dot(_ x: [Float], _ y: [Float]) -> Float { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }
        let sameParity = dot(Array(side.vectors.row(0)[0..<32]), Array(side.vectors.row(6)[0..<32]))
        let otherParity = dot(Array(side.vectors.row(0)[0..<32]), Array(side.vectors.row(3)[0..<32]))
        XCTAssertGreaterThan(dot(dense(0), dense(6)), dot(dense(0), dense(3)))
        XCTAssertGreaterThan(sameParity, otherParity, "projected texts keep which books are alike")
        XCTAssertGreaterThanOrEqual(
            readersWhoseTopBookMatchesTheirTaste(parameters, side, catalog), 14, "top book matches the reader's taste for most readers")
    }

    func testTrainingIsDeterministicForASeedAndLearnsTheTaste() throws {
        let catalog = TinyCatalog()
        var configuration = configuration(.bpr)
        configuration.epochs = 40
        configuration.batchSize = 16
        configuration.learningRate = 0.05
        var losses: [Float] = []
        let first = try Trainer(configuration: configuration).train(features: catalog.features, interactions: catalog.interactions) { losses.append($1) }
        let second = try Trainer(configuration: configuration).train(features: catalog.features, interactions: catalog.interactions)
        XCTAssertEqual(first, second, "same seed, same data: identical parameters")
        XCTAssertLessThan(losses.last!, losses.first! * 0.8, "training lowers the loss")
        configuration.seed = 43
        let other = try Trainer(configuration: configuration).train(features: catalog.features, interactions: catalog.interactions)
        XCTAssertNotEqual(first, other)

        // Each reader's best unrated book has their parity.
        let side = first.itemSide(catalog.features, modalities: .both, residualRows: Array(0..<catalog.interactions.books).map { $0 })
        XCTAssertGreaterThanOrEqual(
            readersWhoseTopBookMatchesTheirTaste(first, side, catalog), 14, "top book matches the reader's taste for most readers")
    }

    func testFoldInOfAnUnseenReaderFollowsTheirRatings() throws {
        let catalog = TinyCatalog()
        for objective in Objective.allCases {
            var configuration = configuration(objective)
            configuration.epochs = 40
            configuration.batchSize = 16
            configuration.learningRate = 0.05
            let parameters = try Trainer(configuration: configuration).train(features: catalog.features, interactions: catalog.interactions)
            let side = parameters.itemSide(catalog.features, modalities: .both, residualRows: Array(0..<catalog.interactions.books).map { $0 })
            let foldIn = FoldIn(configuration: configuration, parameters: parameters, items: side, interactions: catalog.interactions)
            // A new reader who loved three odd books and disliked an even one.
            let (vector, bias) = foldIn.solve(readers: [[(1, 5), (3, 5), (7, 4), (4, 1)]], items: side)[0]
            let scorer = Scorer(side: side, bookIDs: Array(1...catalog.interactions.books))
            let top = scorer.topK(readers: Matrix(rows: 1, columns: vector.count, values: vector), readerBias: [bias], slots: [0], excluded: [[1, 3, 4, 7]], k: 5)[0]
            XCTAssertGreaterThanOrEqual(top.filter { $0.book % 2 == 1 }.count, 4, "\(objective): folded-in reader gets odd books")
            XCTAssertFalse(top.contains { [1, 3, 4, 7].contains($0.book) }, "rated books are never recommended")
        }
    }
}

extension ModelTests {
    /// The cheap per-example step moves each row by −rate × the gradient lossAndGradient reports.
    func testSparseStepFollowsTheHandDerivedGradient() {
        let catalog = TinyCatalog()
        for objective in Objective.allCases {
            let configuration = configuration(objective)
            let parameters = perturbed(configuration, catalog)
            let example = examples(objective, catalog)[0]
            let (_, gradient) = parameters.lossAndGradient(examples: [example], features: catalog.features, configuration: configuration)
            let content = parameters.itemSide(
                catalog.features, modalities: .both, residualRows: [Int?](repeating: nil, count: catalog.interactions.books))
            var stepped = parameters
            let rate: Float = 0.1
            stepped.sparseStep(example, content: content, configuration: configuration, rate: rate)
            let u = example.reader
            for f in 0..<4 {
                XCTAssertEqual(stepped.readerVectors[u, f], parameters.readerVectors[u, f] - rate * gradient.readerVectors[u]![f], accuracy: 1e-5)
            }
            for f in 0..<parameters.residualVectors.columns {
                for book in [example.book, example.negative].compactMap({ $0 }) {
                    XCTAssertEqual(
                        stepped.residualVectors[book, f], parameters.residualVectors[book, f] - rate * gradient.residualVectors[book]![f],
                        accuracy: 1e-5, "\(objective) e_\(book)")
                }
            }
            XCTAssertEqual(stepped.residualBias[example.book], parameters.residualBias[example.book] - rate * gradient.residualBias[example.book]!, accuracy: 1e-5)
            if objective == .mse {
                XCTAssertEqual(stepped.readerBias[u], parameters.readerBias[u] - rate * gradient.readerBias[u]!, accuracy: 1e-5)
            }
        }
    }
}

extension ModelTests {
    /// With no training epochs the model is its closed-form start, and the fold-in computes a
    /// reader's vector the way the start does: a reader of the training data gets back the vector
    /// they have (the content part exactly; the collaborative part up to iALS's last half-step).
    func testClosedFormFoldInGivesAReaderTheVectorTheStartGaveThem() throws {
        let catalog = TinyCatalog()
        let (configuration, parameters) = try closedFormModel(catalog, fusedDimension: 8, factors: 10)
        let side = try parameters.scoringModel(
            catalog.features, configuration: configuration, interactions: catalog.interactions, bookIDs: Array(0..<catalog.interactions.books)).side
        let foldIn = FoldIn(configuration: configuration, parameters: parameters, items: side, interactions: catalog.interactions)
        XCTAssertNotNil(foldIn.start)
        let ix = catalog.interactions
        let readers = [0, 5, 11]
        let ratings: [[(book: Int, rating: Float)]] = readers.map { u in
            (0..<ix.count).filter { Int(ix.reader[$0]) == u }.map { (book: Int(ix.book[$0]), rating: ix.rating[$0]) }
        }
        let solved = foldIn.solve(readers: ratings, items: side)
        let m = configuration.contentFactors
        for (u, solution) in zip(readers, solved) {
            let trained = parameters.readerVectors.row(u)
            for f in 0..<m { XCTAssertEqual(solution.vector[f], trained[f], accuracy: 1e-5, "reader \(u), content factor \(f)") }
            let a = Array(solution.vector[m...]), b = Array(trained[m...])
            let cosine = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (norm(a) * norm(b))
            XCTAssertGreaterThan(cosine, 0.95, "reader \(u): collaborative factors \(a) against \(b)")
            XCTAssertEqual(norm(a), norm(b), accuracy: 0.2 * norm(b), "reader \(u)")
        }
    }

    private func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// The model with no training epochs (its closed-form start) at these widths.
    func closedFormModel(_ catalog: TinyCatalog, fusedDimension: Int, factors: Int) throws -> (ModelConfiguration, ModelParameters) {
        var configuration = configuration(.bpr)
        configuration.fusedDimension = fusedDimension
        configuration.factors = factors
        configuration.epochs = 0
        return (configuration, try Trainer(configuration: configuration).train(features: catalog.features, interactions: catalog.interactions))
    }
}

extension ModelParameters {
    /// One SGD step on the rows an example touches (p_u, β_u, e_b, β_b), with every book's content
    /// vector and term held fixed: `content` is the item side without residuals.
    ///
    /// The gradients are those of `lossAndGradient` for a batch of this one example (the tests
    /// check that they agree). Between the dense steps of an epoch, passes of these cheap steps let
    /// the reader and residual rows converge as in matrix factorisation, which needs tens of passes
    /// over the ratings, without recomputing the co-attention of every book each time.
    public mutating func sparseStep(_ example: TrainingExample, content: ItemSide, configuration: ModelConfiguration, rate: Float) {
        let k = projection.rows
        let offset = residualOffset
        let u = example.reader
        let residual = configuration.collaborativeResidual && example.usesResidual
        let negativeResidual = configuration.collaborativeResidual && example.negativeUsesResidual
        let personalised = configuration.personalised
        func item(_ b: Int, _ f: Int, _ residual: Bool) -> Float {
            content.vectors[b, f] + (residual && f >= offset ? residualVectors[b, f - offset] : 0)
        }
        func logit(_ b: Int, _ residual: Bool) -> Float {
            var x = content.bookTerms[b] + (residual ? residualBias[b] : 0)
            if personalised { for f in 0..<k { x += readerVectors[u, f] * item(b, f, residual) } }
            return x
        }
        var involved: [(book: Int, gradient: Float, residual: Bool)]
        switch configuration.objective {
        case .bpr:
            guard let negative = example.negative else { preconditionFailure("BPR example without a negative") }
            let g = sigmoid(logit(example.book, residual) - logit(negative, negativeResidual)) - 1
            involved = [(example.book, g, residual), (negative, -g, negativeResidual)]
        case .mse:
            let prediction = sigmoid(logit(example.book, residual) + readerBias[u])
            let g = 2 * (prediction - example.target) * prediction * (1 - prediction)
            involved = [(example.book, g, residual)]
            readerBias[u] -= rate * g
        }
        let reader = (0..<k).map { readerVectors[u, $0] }
        if personalised {
            var step = reader.map { configuration.readerRegularization * $0 }
            for (book, g, residual) in involved {
                for f in 0..<k { step[f] += g * item(book, f, residual) }
            }
            for f in 0..<k { readerVectors[u, f] -= rate * step[f] }
        }
        let lambda = configuration.residualRegularization
        for (book, g, residual) in involved where residual {
            for f in offset..<k {
                let e = residualVectors[book, f - offset]
                residualVectors[book, f - offset] -= rate * (g * (personalised ? reader[f] : 0) + lambda * e)
            }
            residualBias[book] -= rate * (g + lambda * residualBias[book])
        }
    }
}

import BookrecCore

/// The evaluation split (docs/EVALUATION.md), carved with a fixed seed.
///
/// - cold: every rating of `coldBookCount` randomly chosen books that have ratings;
/// - cold validation: every rating of as many other books, for choosing what matters to new
///   books without looking at the cold test;
/// - warm test: 20% of the remaining ratings of each reader with ≥ 15 of them;
/// - validation: 20% of what is left for those readers, for choosing hyper-parameters;
/// - training: the rest. Models are fitted on training and compared on test.
public struct EvaluationSplit: Sendable {
    public let coldBooks: Set<Int>
    public let coldValidationBooks: Set<Int>
    public let training: [Rating]
    public let validation: [Rating]
    public let warmTest: [Rating]
    public let coldTest: [Rating]
    public let coldValidation: [Rating]

    public init(ratings: [Rating], seed: UInt64, coldBookCount: Int = 400, minimumRatings: Int = 15, holdOut: Double = 0.2) {
        var generator = SeededGenerator(seed: seed)
        let ratedBooks = Array(Set(ratings.map(\.book))).sorted()
        let shuffled = ratedBooks.shuffled(using: &generator)
        coldBooks = Set(shuffled.prefix(coldBookCount))
        coldValidationBooks = Set(shuffled.dropFirst(coldBookCount).prefix(coldBookCount))
        let sorted = ratings.sorted { ($0.user, $0.book) < ($1.user, $1.book) }
        var training: [Rating] = [], validation: [Rating] = [], warmTest: [Rating] = [], coldTest: [Rating] = []
        var coldValidation: [Rating] = []
        var byUser: [Int: [Rating]] = [:]
        for rating in sorted {
            if coldBooks.contains(rating.book) {
                coldTest.append(rating)
            } else if coldValidationBooks.contains(rating.book) {
                coldValidation.append(rating)
            } else {
                byUser[rating.user, default: []].append(rating)
            }
        }
        for user in byUser.keys.sorted() {
            var list = byUser[user]!
            guard list.count >= minimumRatings else {
                training += list
                continue
            }
            list.shuffle(using: &generator)
            let testCount = Int((Double(list.count) * holdOut).rounded())
            let validationCount = Int((Double(list.count - testCount) * holdOut).rounded())
            warmTest += list[0..<testCount]
            validation += list[testCount..<(testCount + validationCount)]
            training += list[(testCount + validationCount)...]
        }
        self.training = training
        self.validation = validation
        self.warmTest = warmTest
        self.coldTest = coldTest
        self.coldValidation = coldValidation
    }
}

import Foundation

public enum VocabularyError: Error, Equatable, CustomStringConvertible {
    case notUTF8
    case missingSpecialToken(String, expectedID: Int32)

    public var description: String {
        switch self {
        case .notUTF8: return "vocabulary: vocab.txt is not valid UTF-8"
        case .missingSpecialToken(let token, let id): return "vocabulary: \(token) should be on 0-based line \(id)"
        }
    }
}

/// BERT's uncased WordPiece tokenizer as all-MiniLM-L6-v2 uses it through sentence-transformers
/// (clean, split CJK, strip accents, lowercase, split on whitespace and punctuation, WordPiece,
/// [CLS] … [SEP] with at most 256 ids). Tests/Fixtures/reference/README.md spells out every rule.
public struct WordPieceTokenizer: Sendable {
    public static let classID: Int32 = 101
    public static let separatorID: Int32 = 102
    public static let unknownID: Int32 = 100
    /// sentence-transformers' max_seq_length, including [CLS] and [SEP]. tokenizer.json says 128,
    /// but sentence-transformers overrides it.
    public static let maxSequenceLength = 256
    private static let maxWordLength = 100

    /// Vocabulary pieces keyed by Unicode scalars rather than String: String equality is canonical
    /// equivalence, which would let the decomposed jamo "ᄒ" + "ᅡ" match a precomposed "하" entry
    /// that the reference tokenizer (byte comparison) never matches. Keying by ArraySlice lets the
    /// greedy search look up a window of a word without copying it.
    private let wordStarts: [ArraySlice<Unicode.Scalar>: Int32]
    /// Pieces that continue a word, stored without their "##".
    private let continuations: [ArraySlice<Unicode.Scalar>: Int32]
    /// No piece is longer than this, so the greedy search starts its windows here.
    private let longestPiece: Int
    public let vocabularySize: Int

    /// `vocabulary` is vocab.txt: one piece per line, the 0-based line number being its id.
    public init(vocabulary: Data) throws {
        guard let text = String(data: vocabulary, encoding: .utf8) else { throw VocabularyError.notUTF8 }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var wordStarts = [ArraySlice<Unicode.Scalar>: Int32]()
        var continuations = [ArraySlice<Unicode.Scalar>: Int32]()
        var longestPiece = 0
        for (id, line) in lines.enumerated() {
            let scalars = Array(line.unicodeScalars)
            if scalars.count > 2, scalars.starts(with: ["#", "#"]) {
                continuations[scalars[2...]] = Int32(id)
            } else {
                wordStarts[scalars[...]] = Int32(id)
            }
            longestPiece = max(longestPiece, scalars.count)
        }
        for (token, id) in [("[UNK]", Self.unknownID), ("[CLS]", Self.classID), ("[SEP]", Self.separatorID)] {
            guard wordStarts[Array(token.unicodeScalars)[...]] == id else {
                throw VocabularyError.missingSpecialToken(token, expectedID: id)
            }
        }
        self.wordStarts = wordStarts
        self.continuations = continuations
        self.longestPiece = longestPiece
        self.vocabularySize = lines.count
    }

    /// The model's input ids: [CLS], the first 254 wordpieces, [SEP].
    public func ids(for text: String) -> [Int32] {
        let budget = Self.maxSequenceLength - 2
        var pieces = [Int32]()
        for word in Self.words(in: text) {
            pieces += wordPieces(of: word)
            if pieces.count >= budget { break }
        }
        return [Self.classID] + pieces.prefix(budget) + [Self.separatorID]
    }

    /// Greedy longest-match-first; one unmatchable position makes the whole word [UNK].
    private func wordPieces(of word: [Unicode.Scalar]) -> [Int32] {
        if word.count > Self.maxWordLength { return [Self.unknownID] }
        var pieces = [Int32]()
        var start = 0
        while start < word.count {
            let table = start == 0 ? wordStarts : continuations
            var end = min(word.count, start + longestPiece)
            var match: Int32?
            while end > start {
                if let id = table[word[start..<end]] {
                    match = id
                    break
                }
                end -= 1
            }
            guard let id = match else { return [Self.unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    /// Normalises the text and splits it into words, each a list of Unicode scalars.
    private static func words(in text: String) -> [[Unicode.Scalar]] {
        // NFD applies to the whole text before lowercasing, so that e.g. "İ" (I + combining dot)
        // loses its dot and lowercases to a plain "i".
        let decomposed = normalizedForDecomposition(text).decomposedStringWithCanonicalMapping
        var words = [[Unicode.Scalar]]()
        var word = [Unicode.Scalar]()
        func endWord() {
            if !word.isEmpty { words.append(word) }
            word.removeAll(keepingCapacity: true)
        }
        for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
            // Per-scalar lowercase, so "Σ" becomes "σ" even at the end of a word.
            for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                if lower == " " {
                    endWord()
                } else if isPunctuation(lower) {
                    endWord()
                    words.append([lower])
                } else {
                    word.append(lower)
                }
            }
        }
        endWord()
        return words
    }

    /// Steps 1 and 2 of the reference: drop controls, map every whitespace to a space and put
    /// spaces around CJK ideographs.
    private static func normalizedForDecomposition(_ text: String) -> String {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // Tab, LF and CR are controls that count as whitespace; other whitespace controls
            // (U+000B, U+000C, U+0085) are dropped like every control.
            if scalar == "\t" || scalar == "\n" || scalar == "\r" {
                cleaned.append(" ")
                continue
            }
            switch scalar.properties.generalCategory {
            case .control, .format, .privateUse: continue
            default: break
            }
            if scalar.value == 0xFFFD { continue }
            if scalar.properties.isWhitespace {
                cleaned.append(" ")
            } else if isCJKIdeograph(scalar) {
                cleaned.append(contentsOf: [" ", scalar, " "])
            } else {
                cleaned.append(scalar)
            }
        }
        return String(cleaned)
    }

    private static func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// All ASCII punctuation (including what Unicode calls symbols, like "$" and "^") and every
    /// Unicode punctuation category; other symbols such as "€" or emoji stay inside words.
    private static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return (0x21...0x2F).contains(scalar.value) || (0x3A...0x40).contains(scalar.value)
                || (0x5B...0x60).contains(scalar.value) || (0x7B...0x7E).contains(scalar.value)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}

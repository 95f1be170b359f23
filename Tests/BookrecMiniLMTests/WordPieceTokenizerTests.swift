import BookrecMiniLM
import Foundation
import XCTest

final class WordPieceTokenizerTests: XCTestCase {
    func testIdsMatchTheReferenceForEveryText() throws {
        let tokenizer = try Reference.encoder.get().tokenizer
        let texts = try Reference.allTexts()
        XCTAssertEqual(texts.count, 35)
        for reference in texts {
            XCTAssertEqual(tokenizer.ids(for: reference.text), reference.inputIds, "text: \(reference.text.debugDescription)")
        }
    }

    func testLongTextIsCutTo256Ids() throws {
        let tokenizer = try Reference.encoder.get().tokenizer
        let ids = tokenizer.ids(for: String(repeating: "word ", count: 1000))
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(ids.first, WordPieceTokenizer.classID)
        XCTAssertEqual(ids.last, WordPieceTokenizer.separatorID)
    }

    func testVocabularyWithoutSpecialTokensIsRejected() {
        let vocabulary = Data("[PAD]\nhello\nworld\n".utf8)
        XCTAssertThrowsError(try WordPieceTokenizer(vocabulary: vocabulary)) { error in
            XCTAssertEqual(error as? VocabularyError, .missingSpecialToken("[UNK]", expectedID: 100))
        }
        XCTAssertThrowsError(try WordPieceTokenizer(vocabulary: Data([0xFF, 0xFE, 0x0A])))
    }
}

@testable import BookrecService
import Foundation
import XCTest

/// The answers that write their own JSON write what Foundation's JSONEncoder writes for them.
final class AnswerJSONTests: XCTestCase {
    let awkward = "Quotes \" and \\ backslash, a / slash, tab\tnew\nline, \u{1} control, accents é, emoji 📚"

    func testHandWrittenJSONEqualsJSONEncoders() throws {
        let list = RecommendationList(userID: 42, generation: 3, recommendations: [
            RecommendedBook(rank: 1, bookID: 7, score: 0.9827035665512085, title: awkward, authors: "A, B",
                            closeTo: RelatedBook(bookID: 9, title: "Near", similarity: Double(Float(0.59074437)))),
            RecommendedBook(rank: 2, bookID: 11, score: 1e-7, title: "", authors: "", closeTo: nil),
            RecommendedBook(rank: 3, bookID: 12, score: 1, title: "Whole", authors: "C", closeTo: nil),
        ])
        let similar = SimilarBooks(bookID: 1, generation: 2, similar: [
            SimilarBook(bookID: 20, similarity: -0.25, title: awkward, authors: "Suzanne Collins"),
            SimilarBook(bookID: 507, similarity: 123456789.125, title: "Boxset", authors: ""),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for (written, reference) in [(try encodeAnswer(list), try encoder.encode(list)), (try encodeAnswer(similar), try encoder.encode(similar))] {
            XCTAssertEqual(
                try JSONSerialization.jsonObject(with: written) as? NSDictionary, try JSONSerialization.jsonObject(with: reference) as? NSDictionary,
                String(decoding: written, as: UTF8.self))
        }
        XCTAssertEqual(try decodeAnswer(RecommendationList.self, from: try encodeAnswer(list)), list, "it reads back as it was")
        XCTAssertEqual(try decodeAnswer(SimilarBooks.self, from: try encodeAnswer(similar)), similar)
        XCTAssertTrue(String(decoding: try encodeAnswer(similar), as: UTF8.self).hasPrefix(#"{"book_id":1,"generation":2,"similar":[{"authors""#), "keys sorted")
    }

    func testANumberJSONCannotHoldIsAnError() {
        let list = RecommendationList(userID: 1, generation: 1, recommendations: [
            RecommendedBook(rank: 1, bookID: 1, score: .nan, title: "t", authors: "a", closeTo: nil),
        ])
        XCTAssertThrowsError(try encodeAnswer(list))
    }
}

import BookrecCore
import Foundation
import XCTest

final class MatrixCodingTests: XCTestCase {
    func testRoundTripsThroughJSONBitForBit() throws {
        var generator = SeededGenerator(seed: 4)
        let matrix = Matrix(rows: 7, columns: 5, values: (0..<35).map { _ in generator.nextGaussian() * 1e-3 })
        let decoded = try JSONDecoder().decode(Matrix.self, from: JSONEncoder().encode(matrix))
        XCTAssertEqual(decoded.values.map(\.bitPattern), matrix.values.map(\.bitPattern))
        XCTAssertEqual(decoded.rows, 7)
    }

    func testReadsTheNumberArrayForm() throws {
        let json = Data(#"{"rows": 2, "columns": 2, "values": [1, 2.5, -3, 0]}"#.utf8)
        XCTAssertEqual(try JSONDecoder().decode(Matrix.self, from: json), Matrix(rows: 2, columns: 2, values: [1, 2.5, -3, 0]))
    }

    func testRefusesValuesThatDoNotFitTheShape() {
        let json = Data(#"{"rows": 2, "columns": 3, "values": [1, 2]}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(Matrix.self, from: json)) { error in
            XCTAssertTrue("\(error)".contains("2 values for a 2×3 matrix"), "\(error)")
        }
    }
}

final class ContentHashTests: XCTestCase {
    /// SHA-256, the FIPS 180-2 test vectors.
    func testIsSHA256InHex() {
        XCTAssertEqual(contentHash(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(contentHash([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

@testable import BookrecData
import XCTest

final class CSVReaderTests: XCTestCase {
    func read(_ text: String, columns: [String] = ["a", "b", "c"]) -> CSVReader {
        CSVReader(file: "t.csv", data: Data(text.utf8), requiredColumns: columns)
    }

    func testQuotedFieldsWithCommasQuotesAndLineBreaks() {
        let csv = read("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",z\r\n3,,\n")
        XCTAssertEqual(csv.problems, [])
        XCTAssertEqual(csv.records.map(\.fields), [["1", "x, y", "say \"hi\""], ["2", "two\nlines", "z"], ["3", "", ""]])
        XCTAssertEqual(csv.records.map(\.line), [2, 3, 5], "a record is numbered by the line it starts on")
    }

    func testBrokenRowsAreReportedWithTheirLineAndTheRestIsRead() {
        let csv = read("a,b,c\n1,bad\"quote,x\n2,\"closed\"tail,x\n3,4\n4,5,6\n5,\"never closed,x\n6,7,8\n")
        XCTAssertEqual(csv.records.map(\.fields), [["4", "5", "6"], ["6", "7", "8"]])
        XCTAssertEqual(csv.problems.map(\.description), [
            "t.csv:2: stray quote in unquoted field 2",
            "t.csv:3: text after a closing quote in field 2",
            "t.csv:4: expected 3 fields, found 2",
            "t.csv:6: unterminated quoted field 2",
        ])
    }

    func testInvalidUTF8IsARowProblem() {
        var data = Data("a,b,c\n1,".utf8)
        data += Data([0xFF, 0xFE])
        data += Data(",x\n2,ok,y\n".utf8)
        let csv = CSVReader(file: "t.csv", data: data, requiredColumns: ["a"])
        XCTAssertEqual(csv.problems.map(\.description), ["t.csv:2: invalid UTF-8 in field 2"])
        XCTAssertEqual(csv.records.map(\.fields), [["2", "ok", "y"]])
    }

    func testEmptyFileAndMissingColumnsAreFileProblems() {
        XCTAssertEqual(read("").problems.map(\.description), ["t.csv: empty file (expected a header with a,b,c)"])
        XCTAssertEqual(read("a,c\n1,2\n").problems.map(\.description), ["t.csv:1: missing column(s) b; header is a,c"])
        XCTAssertTrue(read("a,c\n1,2\n").records.isEmpty)
    }

    func testPythonListsOfGenres() {
        XCTAssertEqual(parsePythonStringList("['Classics', \"Children's\", 'Fiction']"), ["Classics", "Children's", "Fiction"])
        XCTAssertEqual(parsePythonStringList("[]"), [])
        XCTAssertNil(parsePythonStringList("Classics, Fiction"))
        XCTAssertNil(parsePythonStringList("['unterminated]"))
    }
}

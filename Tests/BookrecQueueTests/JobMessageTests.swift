import BookrecQueue
import XCTest

final class JobMessageTests: XCTestCase {
    private let valid: [String: Any] = [
        "schema_version": 1, "job_id": "g3-encode-0007", "generation": 3, "kind": "encode",
        "shard": ["index": 7, "ids": [700, 701, 702]], "attempt": 1, "parameters": ["model": "minilm"],
    ]

    func testRoundTrip() throws {
        let job = JobMessage(jobID: "g1-score-0", generation: 1, kind: .score, shard: .init(index: 0, ids: [1, 2]),
                             attempt: 2, parameters: ["k": "10"])
        let body = try job.encoded()
        XCTAssertEqual(try JobMessage.decode(body: body), job)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: body) as? [String: Any])
        XCTAssertEqual(json["schema_version"] as? Int, 1)
        XCTAssertEqual(json["job_id"] as? String, "g1-score-0")
    }

    func testDecodesTheDocumentedShape() throws {
        let job = try JobMessage.decode(body: body(valid))
        XCTAssertEqual(job.kind, .encode)
        XCTAssertEqual(job.shard, .init(index: 7, ids: [700, 701, 702]))
        XCTAssertEqual(job.parameters, ["model": "minilm"])
    }

    func testParametersAreOptional() throws {
        XCTAssertEqual(try JobMessage.decode(body: body(valid, without: "parameters")).parameters, [:])
    }

    func testOversizedBody() {
        let body = Data(repeating: UInt8(ascii: " "), count: JobMessage.maxBodySize + 1)
        assertPoison(body, .oversized(bytes: JobMessage.maxBodySize + 1, limit: JobMessage.maxBodySize))
    }

    func testMalformedJSON() {
        for text in ["", "{", "not json", "[1, 2]"] {
            XCTAssertThrowsError(try JobMessage.decode(body: Data(text.utf8)), text) { error in
                guard case .malformedJSON? = error as? PoisonMessage else {
                    return XCTFail("\(text): expected malformed JSON, got \(error)")
                }
            }
        }
    }

    func testUnsupportedSchemaVersion() {
        var future = valid
        future["schema_version"] = 2
        future["shard"] = nil  // a different shape must not be reported as a missing field
        assertPoison(body(future), .unsupportedSchemaVersion(2))
    }

    func testMissingFields() {
        for field in ["schema_version", "job_id", "generation", "kind", "shard", "attempt"] {
            assertPoison(body(valid, without: field), .missingField(field))
        }
        var noIDs = valid
        noIDs["shard"] = ["index": 1]
        assertPoison(body(noIDs), .missingField("shard.ids"))
    }

    func testWrongTypes() {
        var job = valid
        job["generation"] = "three"
        assertPoison(body(job), .wrongType(field: "generation", expected: "an integer"))
        job = valid
        job["shard"] = ["index": 1, "ids": [1, "two"]]
        assertPoison(body(job), .wrongType(field: "shard.ids[1]", expected: "an integer"))
        job = valid
        job["job_id"] = NSNull()
        assertPoison(body(job), .wrongType(field: "job_id", expected: "a string"))
    }

    func testUnknownKind() {
        var job = valid
        job["kind"] = "retrain"
        assertPoison(body(job), .unknownKind("retrain"))
        XCTAssertEqual(PoisonMessage.unknownKind("retrain").description,
                       "poison message: unknown kind 'retrain' (expected encode, train, score)")
    }

    func testInvalidValues() {
        let cases: [(String, Any, PoisonMessage)] = [
            ("job_id", "", .invalidValue(field: "job_id", reason: "is empty")),
            ("generation", -1, .invalidValue(field: "generation", reason: "is negative (-1)")),
            ("attempt", 0, .invalidValue(field: "attempt", reason: "must be at least 1 (0)")),
            ("shard", ["index": -2, "ids": [1]], .invalidValue(field: "shard.index", reason: "is negative (-2)")),
        ]
        for (field, value, expected) in cases {
            var job = valid
            job[field] = value
            assertPoison(body(job), expected)
        }
    }

    func testShardIDChecks() {
        let cases: [([Int], PoisonMessage)] = [([], .emptyIDList), ([3, -4, 5], .negativeID(-4)), ([1, 2, 1], .duplicateID(1))]
        for (ids, expected) in cases {
            var job = valid
            job["shard"] = ["index": 0, "ids": ids]
            assertPoison(body(job), expected)
        }
    }

    func testReasonsArePrecise() {
        XCTAssertEqual(PoisonMessage.missingField("shard.ids").description, "poison message: missing field shard.ids")
        XCTAssertEqual(PoisonMessage.emptyIDList.description, "poison message: shard.ids is empty")
    }

    private func body(_ object: [String: Any], without field: String? = nil) -> Data {
        var object = object
        if let field { object[field] = nil }
        return try! JSONSerialization.data(withJSONObject: object)
    }

    private func assertPoison(_ body: Data, _ expected: PoisonMessage, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JobMessage.decode(body: body), file: file, line: line) { error in
            XCTAssertEqual(error as? PoisonMessage, expected, file: file, line: line)
        }
    }
}

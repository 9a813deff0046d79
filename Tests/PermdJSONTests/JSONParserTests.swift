import PermdJSON
import Testing

@Suite struct JSONParserTests {
    @Test func parsesObjectsInDocumentOrder() throws {
        let value = try JSONParser.parse(#"{"b": 1, "a": [true, null, "x", 2.5]}"#)
        #expect(value.objectValue?.map(\.key) == ["b", "a"])
        #expect(value["a"] == .array([.bool(true), .null, .string("x"), .real(2.5)]))
    }

    @Test func rejectsDuplicateKeysWithPlace() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("{\"a\": 1,\n \"a\": 2}") }
        do {
            _ = try JSONParser.parse("{\"a\": 1,\n \"a\": 2}")
        } catch {
            #expect(error.line == 2)
            #expect(error.message.contains("duplicate"))
        }
    }

    @Test func reportsLineAndColumnOfSyntaxErrors() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": [1,\n  2,,\n]}")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 5)
        }
    }

    @Test func rejectsInvalidUTF8AndEmptyInput() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("") }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("{} trailing") }
    }

    /// jansson's message for a NUL names its own flag; people get words instead (issue 10 #15).
    @Test func aNulInAStringIsExplainedWithoutLibraryInternals() {
        do {
            _ = try JSONParser.parse(#"{"a": "x\u0000y"}"#)
            Issue.record("expected a syntax error")
        } catch {
            #expect(!error.message.contains("JSON_"), "\(error.message)")
            #expect(error.message.contains("NUL"), "\(error.message)")
        }
    }

    @Test func serializesBackInOrder() throws {
        let text = #"{"z":"ü \"q\"","a":[1,false,null]}"#
        #expect(try JSONParser.parse(text).serialized() == text)
    }

    @Test func pointersEscapeTildeAndSlash() {
        #expect(JSONPointer.root.appending("roles").appending(3).appending("a/b~c").description == "/roles/3/a~1b~0c")
    }
}

import PermdStore
import Testing

/// Reads every record of `text` as arrays of fields; a malformed record becomes its error.
private func records(_ text: String, expected: Int? = nil) -> [Result<[String], CSVError>] {
    var reader = CSVReader(bytes: Array(text.utf8))
    reader.expectedFieldCount = expected
    var result: [Result<[String], CSVError>] = []
    while true {
        do {
            guard try reader.nextRecord() else { break }
            result.append(.success((0..<reader.fieldCount).map { reader.string(at: $0) ?? "<invalid>" }))
        } catch {
            result.append(.failure(error))
        }
    }
    return result
}

/// The line of each record, in order.
private func lines(_ text: String) -> [Int] {
    var reader = CSVReader(bytes: Array(text.utf8))
    var result: [Int] = []
    while (try? reader.nextRecord()) == true { result.append(reader.line) }
    return result
}

@Test func plainFieldsAndEmptyFields() {
    #expect(records("a,b,c\n1,,3\n,,\n") == [.success(["a", "b", "c"]), .success(["1", "", "3"]), .success(["", "", ""])])
}

@Test func quotedFieldsKeepCommasQuotesAndNewlines() {
    let text = "id,name\n\"u1\",\"Ruiz, Ana\"\nu2,\"say \"\"hi\"\"\"\nu3,\"two\nlines\"\n"
    #expect(records(text) == [
        .success(["id", "name"]), .success(["u1", "Ruiz, Ana"]), .success(["u2", "say \"hi\""]),
        .success(["u3", "two\nlines"]),
    ])
}

@Test func recordLinesCountNewlinesInsideQuotes() {
    #expect(lines("h\n\"a\nb\nc\"\nx\n\ny\n") == [1, 2, 5, 7])
}

@Test func byteOrderMarkAndCRLFAreHandled() {
    let text = "\u{FEFF}id,email\r\nu1,\"a\r\nb\"\r\nu2,c\r\n"
    #expect(records(text) == [.success(["id", "email"]), .success(["u1", "a\r\nb"]), .success(["u2", "c"])])
    #expect(lines(text) == [1, 2, 4])
}

@Test func lastRecordWithoutLineBreakAndTrailingComma() {
    #expect(records("a,b\n1,") == [.success(["a", "b"]), .success(["1", ""])])
    #expect(records("a,\"b\"") == [.success(["a", "b"])])
}

@Test func quoteInsideUnquotedFieldIsLiteral() {
    #expect(records("5'10\",x\n") == [.success(["5'10\"", "x"])])
}

@Test func unclosedQuoteNamesTheLineWhereTheFieldStarts() {
    let result = records("a,b\n1,2\n3,\"open\nmore\n")
    #expect(result.count == 3)
    #expect(result.last == .failure(CSVError(line: 3, message: "unclosed quote: the quoted field that starts here runs to the end of the file")))
}

@Test func textAfterClosingQuoteIsAnErrorAndReadingGoesOn() {
    let result = records("a,b\n\"x\"y,1\nc,d\n")
    #expect(result.count == 3)
    guard case .failure(let error) = result[1] else {
        Issue.record("expected an error, got \(result[1])")
        return
    }
    #expect(error.line == 2)
    #expect(result[2] == .success(["c", "d"]))
}

@Test func fieldCountMustMatchTheHeader() {
    let result = records("a,b\n1,2,3\n4\n5,6\n", expected: 2)
    #expect(result[1] == .failure(CSVError(line: 2, message: "too many fields: 3, but the header has 2")))
    #expect(result[2] == .failure(CSVError(line: 3, message: "too few fields: 1, but the header has 2")))
    #expect(result[3] == .success(["5", "6"]))
}

@Test func invalidUTF8IsReportedAsNil() {
    var reader = CSVReader(bytes: [0x61, 0x2C, 0xFF, 0xFE, 0x0A])
    #expect((try? reader.nextRecord()) == true)
    #expect(reader.string(at: 0) == "a")
    #expect(reader.string(at: 1) == nil)
}

@Test func emptyInputHasNoRecords() {
    #expect(records("").isEmpty)
    #expect(records("\u{FEFF}\n\n").isEmpty)
}

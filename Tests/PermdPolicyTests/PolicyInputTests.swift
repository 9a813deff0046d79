import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PermdCore
import PermdPolicy
import Testing

/// Bad input of every kind becomes a diagnostic naming the file and place, never a crash.
@Suite struct PolicyInputTests {
    /// The only diagnostic of loading the base set with `changes`, after checking there is one.
    private func single(_ changes: [String: String?] = [:], raw: [String: [UInt8]] = [:],
                        sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> (PolicyFixture, Diagnostic?) {
        let fixture = try PolicyFixture(changes)
        for (path, bytes) in raw { try fixture.write(path, Data(bytes)) }
        let result = fixture.load()
        #expect(result.policy == nil, sourceLocation: sourceLocation)
        #expect(result.diagnostics.count == 1, "\(result.diagnostics)", sourceLocation: sourceLocation)
        return (fixture, result.diagnostics.first)
    }

    @Test func syntaxErrorsCarryLineAndColumn() throws {
        let (fixture, diagnostic) = try single(["z-more.json": "{\n  \"roles\": [\n    {\"key\": \"a\",,}\n  ]\n}"])
        defer { fixture.remove() }
        #expect(diagnostic == Diagnostic(file: fixture.path("z-more.json"), line: 3, column: 17, severity: .error,
                                         message: "invalid JSON: string or '}' expected near ','"))
        #expect(diagnostic?.description == fixture.path("z-more.json") + ":3:17: error: invalid JSON: string or '}' expected near ','")
    }

    @Test func duplicateKeyInsideAnObject() throws {
        let (fixture, diagnostic) = try single(["z-more.json": "{\"permissions\": [\n  {\"key\": \"a:b\", \"key\": \"a:c\"}\n]}"])
        defer { fixture.remove() }
        #expect(diagnostic == Diagnostic(file: fixture.path("z-more.json"), line: 2, column: 22, severity: .error,
                                         message: "invalid JSON: duplicate object key near '\"key\"'"))
    }

    @Test func rootMustBeAnObject() throws {
        let (fixture, diagnostic) = try single(["z-more.json": #"[{"key": "a"}]"#])
        defer { fixture.remove() }
        #expect(diagnostic == Diagnostic(file: fixture.path("z-more.json"), pointer: "", severity: .error,
                                         message: #"a policy file must hold one JSON object, found an array [{"key":"a"}]"#))
    }

    @Test func bytesThatAreNotUTF8() throws {
        let bytes = Array(#"{"permissions": [{"key": "a:b", "name": ""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)
        let (fixture, diagnostic) = try single(raw: ["z-more.json": bytes])
        defer { fixture.remove() }
        #expect(diagnostic == Diagnostic(file: fixture.path("z-more.json"), line: 1, column: 41, severity: .error,
                                         message: "invalid JSON: unable to decode byte 0xc3 near '\"'"))
    }

    /// SPEC §2: a policy file may begin with a UTF-8 byte-order mark (editors on Windows write one).
    @Test func aByteOrderMarkAtTheStartIsAccepted() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        try fixture.write("settings.json", Data([0xEF, 0xBB, 0xBF] + Array(PolicyFixture.base["settings.json"]!.utf8)))
        let result = fixture.load()
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.policy?.settings.defaultOrganization == "org_default")
    }

    @Test func emptyFile() throws {
        let (fixture, diagnostic) = try single(["z-more.json": ""])
        defer { fixture.remove() }
        #expect(diagnostic == Diagnostic(file: fixture.path("z-more.json"), line: 1, column: 1, severity: .error,
                                         message: "the file is empty: a policy file holds one JSON object"))
    }

    @Test func missingDirectory() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("permd-missing-\(UUID().uuidString)").path
        let result = PolicyLoader.load(directory: path)
        #expect(result.policy == nil)
        #expect(result.diagnostics == [Diagnostic(file: path, severity: .error, message: "policy directory not found")])
    }

    @Test func emptyDirectoryAndTheFilesThatAreNotPolicies() throws {
        let fixture = try PolicyFixture(base: [:])
        defer { fixture.remove() }
        try fixture.write("policy.test.json", Data("not json".utf8))
        try fixture.write(".git/config.json", Data("not json".utf8))
        try fixture.write("notes.txt", Data("not json".utf8))
        #expect(fixture.load().diagnostics == [Diagnostic(
            file: fixture.directory, severity: .error, message: "no policy files (*.json) in the directory")])
    }

    @Test func aFileIsNotADirectory() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        let path = fixture.path("roles.json")
        #expect(PolicyLoader.load(directory: path).diagnostics.map(\.file) == [path])
    }

    @Test func unreadableFile() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        try FileManager.default.createSymbolicLink(atPath: fixture.path("z-gone.json"), withDestinationPath: "/nonexistent/x")
        let result = fixture.load()
        #expect(result.diagnostics == [Diagnostic(
            file: fixture.path("z-gone.json"), severity: .error, message: "cannot read the file: No such file or directory")])
    }

    @Test func aFIFONamedLikeAPolicyIsReportedNotAwaited() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        #expect(mkfifo(fixture.path("z-pipe.json"), 0o644) == 0)
        #expect(fixture.load().diagnostics == [Diagnostic(
            file: fixture.path("z-pipe.json"), severity: .error, message: "not a regular file")])
    }

    @Test func fileOverTheSizeLimit() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        let size = 50 << 20
        _ = FileManager.default.createFile(atPath: fixture.path("z-huge.json"), contents: nil)
        let handle = try FileHandle(forWritingAtPath: fixture.path("z-huge.json")).unwrap()
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        #expect(fixture.load().diagnostics == [Diagnostic(
            file: fixture.path("z-huge.json"), severity: .error,
            message: "the file is \(size) bytes, over the 16 MiB limit for a policy file")])
    }

    @Test func nestedFoldersAreReadInPathOrder() throws {
        let fixture = try PolicyFixture([
            "permissions.json": nil,
            "permissions/b.json": #"{"permissions": [{"key": "write:invoices"}]}"#,
            "permissions/a.json": #"{"permissions": [{"key": "read:invoices"}]}"#,
        ])
        defer { fixture.remove() }
        let policy = try #require(fixture.load().policy)
        #expect(policy.permission("read:invoices")?.source.file == fixture.path("permissions/a.json"))
        #expect(policy.permission("write:invoices")?.source.file == fixture.path("permissions/b.json"))
    }

    @Test func trailingSlashIsTheSameDirectory() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        let policy = try #require(PolicyLoader.load(directory: fixture.directory + "/").policy)
        #expect(policy.permission("read:invoices")?.source.file == fixture.path("permissions.json"))
    }
}

extension Optional {
    fileprivate func unwrap() throws -> Wrapped {
        guard let self else { throw CocoaError(.fileNoSuchFile) }
        return self
    }
}

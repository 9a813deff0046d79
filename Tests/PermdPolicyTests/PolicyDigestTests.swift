import Foundation
@testable import PermdPolicy
import Testing

@Suite struct PolicyDigestTests {
    @Test func sha256MatchesPublishedVectors() {
        #expect(PolicyDigest.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(PolicyDigest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(PolicyDigest.sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(PolicyDigest.sha256Hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func digestNamesTheFilesAndTheirBytes() {
        let a = (relativePath: "a.json", bytes: Array("{}".utf8))
        let b = (relativePath: "roles/b.json", bytes: Array("{\"roles\": []}".utf8))
        let digest = PolicyDigest.of([a, b])
        #expect(digest.count == 12 && digest.allSatisfy(\.isHexDigit))
        #expect(PolicyDigest.of([b, a]) == digest)
        #expect(PolicyDigest.of([a, (b.relativePath, b.bytes + [0x20])]) != digest)
        #expect(PolicyDigest.of([a, ("roles/c.json", b.bytes)]) != digest)
        // The framing keeps bytes from moving between files unnoticed.
        #expect(PolicyDigest.of([("a.json", Array("{}{".utf8)), ("b.json", Array("}".utf8))])
            != PolicyDigest.of([("a.json", Array("{".utf8)), ("b.json", Array("}{}".utf8))]))
    }

    @Test func theLoaderDigestsTheFilesItRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-digest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = #"{"permissions": [{"key": "read:x"}], "organizations": [{"code": "org_a"}], "settings": {"default_organization": "org_a"}}"#
        try policy.write(to: directory.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        try "{\"tests\": []}".write(to: directory.appendingPathComponent("x.test.json"), atomically: true, encoding: .utf8)
        let loaded = try #require(PolicyLoader.load(directory: directory.path).policy)
        #expect(loaded.digest == PolicyDigest.of([("policy.json", Array(policy.utf8))]))
    }
}

import Foundation
import PermdCore
import PermdPolicy

/// A policy directory written into a fresh temporary folder: a small valid policy set
/// that each test changes to break one rule.
struct PolicyFixture {
    /// The files of the valid base set, by path relative to the directory.
    static let base: [String: String] = [
        "settings.json": #"{"settings": {"default_organization": "org_default"}}"#,
        "organizations.json": #"{"organizations": [{"code": "org_default", "name": "Default"}]}"#,
        "permissions.json": """
            {"permissions": [
              {"key": "read:invoices", "name": "Read invoices"},
              {"key": "write:invoices", "name": "Write invoices"}
            ]}
            """,
        "roles.json": """
            {"roles": [
              {"key": "viewer", "permissions": ["read:invoices"], "default_for_new_users": true},
              {"key": "editor", "includes": ["viewer"], "permissions": ["write:invoices"]}
            ]}
            """,
    ]

    let directory: String

    /// Writes the base set with `changes` applied (nil removes a file).
    init(_ changes: [String: String?] = [:], base: [String: String] = Self.base) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("permd-policy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files = base
        for (path, text) in changes { files[path] = text }
        for (path, text) in files {
            try write(path, Data(text.utf8))
        }
    }

    /// Writes raw bytes at a path relative to the directory.
    func write(_ relative: String, _ data: Data) throws {
        let url = URL(fileURLWithPath: path(relative))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// The path diagnostics give for a file of the fixture.
    func path(_ relative: String) -> String { directory + "/" + relative }

    func load() -> PolicyLoadResult { PolicyLoader.load(directory: directory) }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Loads `changes` over the base set and returns its diagnostics, cleaning up after.
func diagnostics(_ changes: [String: String?]) throws -> (PolicyFixture, [Diagnostic]) {
    let fixture = try PolicyFixture(changes)
    defer { fixture.remove() }
    return (fixture, fixture.load().diagnostics)
}

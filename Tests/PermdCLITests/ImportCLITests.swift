import Foundation
import PermdTestSupport
import Testing

/// What one run of the `permd` binary printed and returned.
private struct Run {
    var status: Int32
    var output: String
    var errors: String
}

/// The built `permd` executable: PERMD_BIN, else the first `permd` beside the test bundle
/// or one of its parent folders.
private let permdBinary: URL? = {
    if let path = ProcessInfo.processInfo.environment["PERMD_BIN"] { return URL(fileURLWithPath: path) }
    for start in [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])] {
        var folder = start
        for _ in 0..<6 {
            folder = folder.deletingLastPathComponent()
            let candidate = folder.appendingPathComponent("permd")
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isFolder), !isFolder.boolValue {
                return candidate
            }
        }
    }
    return nil
}()

/// A temporary folder with a policy directory, a database path and files to import.
private final class Workspace {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("permd-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("policies"), withIntermediateDirectories: true)
        try write("policies/policy.json", """
            {
              "permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}, {"key": "refund:payments"}],
              "roles": [
                {"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
                {"key": "billing-admin", "includes": ["viewer"], "permissions": ["write:invoices", "refund:payments"]}
              ],
              "organizations": [
                {"code": "org_default"},
                {"code": "org_acme", "name": "Acme Ltd", "external_id": "acme-123"},
                {"code": "org_beta"}
              ],
              "settings": {"default_organization": "org_default"}
            }
            """)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: folder.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> String {
        try String(decoding: fileContents(folder.appendingPathComponent(name)), as: UTF8.self)
    }

    /// Runs `permd ARGS` in the folder, with the policies and the database `db`.
    func permd(_ arguments: [String], db: String = "permd.db") throws -> Run {
        let binary = try #require(permdBinary, "the permd binary was not found; set PERMD_BIN")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments + ["--policies", "policies", "--db", db]
        process.currentDirectoryURL = folder
        let output = folder.appendingPathComponent(".stdout"), errors = folder.appendingPathComponent(".stderr")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: try read(".stdout"), errors: try read(".stderr"))
    }
}

private let sampleCSV = """
    id,email,first_name,last_name,external_organization_id,role_key,permission_key,hashed_password
    u1,ana@acme.io,Ana,"Ruiz, López","acme-123,org_beta",billing-admin,,$2a$10$x
    u1,,,,,,refund:payments,
    u2,bo@beta.io,Bo,Li,org_beta,(none),,
    ,cy@acme.io,Cy,,,,,

    """

@Test func importPrintsNoticesAndSummaryAndIsIdempotent() throws {
    let workspace = try Workspace()
    try workspace.write("users.csv", sampleCSV)
    let first = try workspace.permd(["import", "users.csv"])
    #expect(first.status == 0)
    #expect(first.errors.contains("users.csv:1: notice: password columns ignored"))
    #expect(first.output.contains("imported users.csv (kinde-csv): 4 records, 3 users"))
    #expect(first.output.contains("users: 3 created, 0 updated, 0 unchanged; memberships added: 5"))
    let export = try workspace.permd(["export"])
    #expect(export.output.contains("u1,ana@acme.io,true,,,,Ana,\"Ruiz, López\",,org_acme,billing-admin,\n"))
    #expect(export.output.contains("u1,ana@acme.io,true,,,,Ana,\"Ruiz, López\",,org_default,viewer,refund:payments\n"))
    #expect(export.output.contains("u2,bo@beta.io,true,,,,Bo,Li,,org_beta,(none),\n"))

    let second = try workspace.permd(["import", "users.csv"])
    #expect(second.status == 0)
    #expect(second.output.contains("users: 0 created, 0 updated, 3 unchanged; memberships added: 0; roles added: 0; permissions added: 0"))
    #expect(try workspace.permd(["export"]).output == export.output)
}

@Test func malformedFileReportsEveryErrorAndWritesNothing() throws {
    let workspace = try Workspace()
    try workspace.write("users.csv", """
        id,email,external_organization_id,role_key
        u1,ana@acme.io,org_acme,viewer
        u2,bo@beta.io,org_nowhere,viewer
        u3,cy@acme.io,org_acme,admn
        u 4,dee@acme.io,,
        u5,not-an-email,,
        u6,eve@acme.io,,,
        u7,"fay@acme.io

        """)
    let run = try workspace.permd(["import", "users.csv"])
    #expect(run.status == 1)
    let lines = run.errors.split(separator: "\n").map(String.init)
    #expect(lines == [
        "users.csv:3: error: unknown organization \"org_nowhere\" (no organization has it as external_id or code)",
        "users.csv:4: error: unknown role \"admn\"",
        "users.csv:5: error: invalid user id \"u 4\": holds a space or a byte outside printable ASCII",
        "users.csv:6: error: invalid email \"not-an-email\": needs exactly one @",
        "users.csv:7: error: too many fields: 5, but the header has 4",
        "users.csv:8: error: unclosed quote: the quoted field that starts here runs to the end of the file",
        "users.csv: 6 errors, 0 warnings; nothing was imported",
    ])
    #expect(run.output.isEmpty)
    let export = try workspace.permd(["export"])
    #expect(export.output == "id,email,email_verified,phone,phone_verified,username,first_name,last_name,picture,external_organization_id,role_key,permission_key\n")
}

@Test func storeRefusalsAreReportedWithLinesAndNothingIsWritten() throws {
    let workspace = try Workspace()
    try workspace.write("first.csv", "id,email\nu1,ana@acme.io\n")
    #expect(try workspace.permd(["import", "first.csv"]).status == 0)
    try workspace.write("second.csv", "id,email\nu2,bo@acme.io\nu3,ANA@acme.io\n")
    let run = try workspace.permd(["import", "second.csv"])
    #expect(run.status == 1)
    #expect(run.errors.hasPrefix("second.csv:3: error: "))
    #expect(run.errors.contains("nothing was imported"))
    #expect(try !workspace.permd(["export"]).output.contains("u2,"))
}

@Test func dryRunReportsAndWritesNothing() throws {
    let workspace = try Workspace()
    try workspace.write("users.csv", sampleCSV)
    // A dry run only reads (SPEC §3): the database must exist.
    #expect(try workspace.permd(["org", "add", "org_x"]).status == 0)
    let run = try workspace.permd(["import", "--dry-run", "users.csv"])
    #expect(run.status == 0)
    #expect(run.output.contains("dry run of users.csv (kinde-csv): 4 records, 3 users; nothing was written"))
    #expect(run.output.contains("users: 3 created"))
    #expect(try workspace.permd(["export"]).output.split(separator: "\n").count == 1)
}

@Test(arguments: ["kinde-csv", "kinde-ndjson"])
func exportImportExportIsIdentical(format: String) throws {
    let workspace = try Workspace()
    try workspace.write("users.csv", sampleCSV)
    try workspace.write("users.ndjson", """
        {"id":"u9","first_name":"Ida","picture":"https://x/i.png","identities":[{"type":"email","identity":"ida@acme.io","is_verified":true},{"type":"phone","identity":"+34 600","is_verified":false},{"type":"oauth2:google","identity":"1093"}],"organizations":[{"external_id":"acme-123","roles":[],"permissions":["refund:payments"]},{"external_id":"org_beta"}]}

        """)
    #expect(try workspace.permd(["import", "users.csv"]).status == 0)
    #expect(try workspace.permd(["import", "users.ndjson"]).status == 0)
    let first = try workspace.permd(["export", "--format", format, "--output", "first.out"])
    #expect(first.status == 0)
    #expect(try workspace.permd(["import", "first.out"], db: "copy.db").status == 0)
    #expect(try workspace.permd(["export", "--format", format, "--output", "second.out"], db: "copy.db").status == 0)
    let exported = try workspace.read("first.out")
    #expect(exported.split(separator: "\n").count >= 4)
    #expect(try workspace.read("second.out") == exported)
}

/// An export holds emails and phone numbers: its file is the owner's only, whatever the umask
/// (like the database file), also when it replaces a file that others could read.
@Test func anExportFileIsPrivate() throws {
    let workspace = try Workspace()
    try workspace.write("users.csv", sampleCSV)
    #expect(try workspace.permd(["import", "users.csv"]).status == 0)
    try workspace.write("users.out", "old")
    chmod(workspace.folder.appendingPathComponent("users.out").path, 0o644)
    for arguments in [["export", "--output", "users.out"], ["export", "--organizations", "--output", "orgs.out"]] {
        #expect(try workspace.permd(arguments).status == 0)
    }
    for name in ["users.out", "orgs.out"] {
        let attributes = try FileManager.default.attributesOfItem(atPath: workspace.folder.appendingPathComponent(name).path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600, "\(name)")
    }
    #expect(try workspace.read("users.out").contains("ana@acme.io"))
}

@Test func auth0ExportIsGuessedAndImported() throws {
    let workspace = try Workspace()
    try workspace.write("auth0.json", """
        [
          {"user_id": "auth0|5f1", "email": "ana@acme.io", "email_verified": true, "given_name": "Ana",
           "identities": [{"provider": "auth0", "user_id": "5f1", "connection": "Username-Password-Authentication"}],
           "logins_count": 4},
          {"user_id": "google-oauth2|1093", "email": "bo@beta.io", "name": "Bo Li",
           "identities": [{"provider": "google-oauth2", "user_id": "1093", "connection": "google-oauth2"}]}
        ]
        """)
    let run = try workspace.permd(["import", "auth0.json"])
    #expect(run.status == 0)
    #expect(run.output.contains("(auth0): 2 records, 2 users"))
    #expect(run.errors.contains("auth0.json:2: notice: fields ignored: \"logins_count\""))
    let export = try workspace.permd(["export", "--format", "kinde-ndjson"]).output
    #expect(export.contains(#"{"id":"auth0|5f1","first_name":"Ana","identities":[{"type":"email","identity":"ana@acme.io","is_verified":true},{"type":"oauth2:auth0","identity":"5f1"}],"organizations":[{"external_id":"org_default","roles":["viewer"],"permissions":[]}]}"#))
}

@Test func badArgumentsAndMissingFiles() throws {
    let workspace = try Workspace()
    let usage = try workspace.permd(["import", "users.csv", "--format", "excel"])
    #expect(usage.status != 0 && usage.status != 1)
    #expect(usage.errors.contains("unknown format \"excel\" (expected one of: kinde-csv, kinde-ndjson, auth0)"))
    let missing = try workspace.permd(["import", "nowhere.csv"])
    #expect(missing.status == 1)
    #expect(missing.errors.hasPrefix("nowhere.csv: error: cannot read the file"))
    try workspace.write("empty.csv", "")
    let empty = try workspace.permd(["import", "empty.csv"])
    #expect(empty.status == 1)
    #expect(empty.errors.hasPrefix("empty.csv:1: error: the file is empty"))
}

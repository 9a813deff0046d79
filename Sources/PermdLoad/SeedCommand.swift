import ArgumentParser
import Foundation

/// `permd-load seed --users N --orgs N --roles N --permissions N --out DIR`: writes a
/// realistic dataset to import and serve (`DIR/policies/` and `DIR/users.csv`).
struct SeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Write a realistic dataset: policy files and a Kinde CSV of users.",
        discussion: """
            DIR/policies/ gets permissions.json, roles.json (a default viewer role, an owner \
            with *, named roles with includes and prefix wildcards), organizations.json (the \
            default organization first, every other one with an external id) and \
            settings.json; DIR/users.csv one row per membership, users in one to three \
            organizations (about 1.6 each). The same options and --seed give the same bytes. \
            Then: permd import DIR/users.csv --policies DIR/policies --db DB
            """)

    @Option(help: "Users.") var users: Int = 20_000
    @Option(help: "Organizations, the default one included.") var orgs: Int = 1_000
    @Option(help: "Roles.") var roles: Int = 20
    @Option(help: "Permissions.") var permissions: Int = 100
    @Option(help: "The directory to write (created when missing).") var out: String
    @Option(help: "Seeds the dataset (equal seeds, equal files).") var seed: UInt64 = 1

    func validate() throws {
        guard users > 0 else { throw ValidationError("--users must be at least 1") }
        guard orgs > 0 else { throw ValidationError("--orgs must be at least 1 (the default organization)") }
        guard orgs <= 99_999 else { throw ValidationError("--orgs must be at most 99999") }
        guard roles > 0 else { throw ValidationError("--roles must be at least 1 (the default viewer role)") }
        guard permissions > 0 else { throw ValidationError("--permissions must be at least 1") }
    }

    func run() throws {
        let dataset = Dataset(users: users, organizations: orgs, roles: roles, permissions: permissions, seed: seed)
        let directory = URL(fileURLWithPath: out)
        let policies = directory.appendingPathComponent("policies")
        let csv = directory.appendingPathComponent("users.csv")
        var memberships = 0
        do {
            try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
            for file in dataset.policyFiles {
                try Data(file.text.utf8).write(to: policies.appendingPathComponent(file.path))
            }
            guard FileManager.default.createFile(atPath: csv.path, contents: nil) else {
                throw LoadError("cannot create \(csv.path)")
            }
            let handle = try FileHandle(forWritingTo: csv)
            defer { try? handle.close() }
            var pending = Dataset.csvHeader + "\n"
            dataset.forEachRow { row in
                pending += row
                pending += "\n"
                memberships += 1
                if pending.utf8.count >= 1 << 20 {
                    handle.write(Data(pending.utf8))
                    pending = ""
                }
            }
            handle.write(Data(pending.utf8))
        } catch {
            printError("permd-load seed: \(out): \(error)")
            throw ExitCode(1)
        }
        print("wrote \(policies.path): \(permissions) permissions, \(roles) roles, \(orgs) organizations")
        print("wrote \(csv.path): \(users) users, \(memberships) memberships")
        print("import: permd import \(csv.path) --policies \(policies.path) --db DB")
    }
}

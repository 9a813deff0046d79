import Foundation
import Testing

/// `permd-load seed`: the dataset is the same for the same options, and permd takes it.
@Suite struct SeedTests {
    private func seed(_ arguments: [String]) throws -> (folder: URL, files: [String: Data]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("permd-seed-\(UUID().uuidString)")
        try Tool.succeed("permd-load", ["seed", "--users", "500", "--orgs", "30", "--roles", "10", "--permissions", "50",
                                        "--out", folder.path] + arguments)
        var files: [String: Data] = [:]
        for name in ["users.csv", "policies/permissions.json", "policies/roles.json", "policies/organizations.json",
                     "policies/settings.json"] {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return (folder, files)
    }

    @Test func theSameSeedWritesTheSameBytes() throws {
        let first = try seed(["--seed", "7"])
        let second = try seed(["--seed", "7"])
        let other = try seed(["--seed", "8"])
        defer { for folder in [first.folder, second.folder, other.folder] { try? FileManager.default.removeItem(at: folder) } }
        #expect(first.files == second.files)
        #expect(first.files["users.csv"] != other.files["users.csv"])
        #expect(first.files["policies/roles.json"] != other.files["policies/roles.json"])
    }

    @Test func theDatasetValidatesAndImportsWithUsersInOneToThreeOrganizations() throws {
        let dataset = try seed([])
        defer { try? FileManager.default.removeItem(at: dataset.folder) }
        let policies = dataset.folder.appendingPathComponent("policies").path
        let validation = try Tool.succeed("permd", ["validate", "--policies", policies])
        #expect(validation.standardOutput.contains("0 errors"), "\(validation)")
        let csv = String(decoding: try #require(dataset.files["users.csv"]), as: UTF8.self)
        let rows = csv.split(separator: "\n").dropFirst()
        #expect(csv.hasPrefix("id,email,first_name,last_name,external_organization_id,role_key,permission_key\n"))
        var organizationsPerUser: [Substring: Int] = [:]
        for row in rows { organizationsPerUser[row.prefix { $0 != "," }, default: 0] += 1 }
        #expect(organizationsPerUser.count == 500)
        #expect(Set(organizationsPerUser.values) == [1, 2, 3])
        #expect(rows.contains { $0.contains(",crm-") }, "no organization named by its external id")
        #expect(rows.contains { $0.contains("\"") }, "no row with two roles")
        let database = dataset.folder.appendingPathComponent("permd.db").path
        let imported = try Tool.succeed("permd", ["import", dataset.folder.appendingPathComponent("users.csv").path,
                                                  "--policies", policies, "--db", database])
        #expect(imported.standardOutput.contains("500 created"), "\(imported)")
    }
}

import Foundation
import Testing

/// `permd import` twice creates nobody the second time, also for rows that give only a
/// username or a phone (SPEC §4).
@Suite struct ImportMatchingCLITests {
    @Test func rowsWithOnlyAUsernameOrAPhoneImportedTwiceAreTwoUsers() throws {
        let directory = try PermdProcess.temporaryDirectory([
            "policies/p.json": ManagementCLITests.policy,
            "users.csv": "id,email,username,phone\n,,jdoe,\n,,,+15550100\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try PermdProcess.run(["import", "users.csv"], in: directory)
        #expect(first.status == 0 && first.standardOutput.contains("users: 2 created"), "\(first)")
        #expect(!first.standardError.contains("notice"), "no notice that a re-import would duplicate them")
        let second = try PermdProcess.run(["import", "users.csv"], in: directory)
        #expect(second.status == 0 && second.standardOutput.contains("users: 0 created, 0 updated, 2 unchanged"), "\(second)")
        #expect(try PermdProcess.run(["user", "list"], in: directory).lines.count == 2)
    }
}

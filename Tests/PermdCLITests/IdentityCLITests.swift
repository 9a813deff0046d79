import Foundation
import Testing

/// The identity rules of SPEC §1 as `permd user add` and `permd org add` meet them: blank
/// values, the email rule and its verified state, unique usernames and phones, reserved ids,
/// organization codes and external ids.
@Suite struct IdentityCLITests {
    typealias Workspace = ManagementCLITests.Workspace

    @Test func aBlankEmailIsNoEmail() throws {
        let here = try Workspace()
        // What `--email "$EMAIL"` gives with EMAIL unset.
        let added = try here.permd("user", "add", "--id", "e1", "--email", "", "--first-name", " ")
        #expect(added.status == 0 && added.out.hasPrefix("OK e1 "), "\(added)")
        let shown = try here.permd("user", "show", "e1").out
        #expect(!shown.contains("email:") && !shown.contains("first_name:"), "\(shown)")
        let second = try here.permd("user", "add", "--id", "e2", "--email", "  ")
        #expect(second.status == 0, "a second blank email is no conflict: \(second)")
    }

    @Test func emailsAreVerifiedUnlessMarkedUnverified() throws {
        let here = try Workspace()
        _ = try here.permd("user", "add", "--id", "ana", "--email", "ana@acme.io")
        let bob = try here.permd("user", "add", "--id", "bob", "--email", "bob@acme.io", "--email-unverified")
        #expect(bob.status == 0, "\(bob)")
        #expect(try here.permd("user", "show", "ana").out.contains("email: ana@acme.io (verified)\n"))
        #expect(try here.permd("user", "show", "bob").out.contains("email: bob@acme.io (not verified)\n"))
        let alone = try here.permd("user", "add", "--id", "cy", "--email-unverified")
        #expect(alone.status == 2 && alone.err.contains("--email"), "\(alone)")
    }

    @Test func refusalsOfTheIdentityRules() throws {
        let here = try Workspace()
        _ = try here.permd("user", "add", "--id", "ana", "--username", "jdoe", "--phone", "+15550100")
        let cases: [([String], String)] = [
            (["user", "add", "--id", "x", "--email", "a@b"], #"ERR SYNTAX invalid email "a@b""#),
            (["user", "add", "--id", "x", "--email", "a b@c.d"], #"ERR SYNTAX invalid email "a b@c.d""#),
            (["user", "add", "--id", "x", "--username", "jdoe"], #"ERR CONFLICT username "jdoe" belongs to user "ana""#),
            (["user", "add", "--id", "x", "--phone", "+15550100"], #"ERR CONFLICT phone "+15550100" belongs to user "ana""#),
            (["user", "add", "--id", "MORE"], #"ERR SYNTAX invalid user id "MORE": is reserved"#),
            (["user", "add", "--id", "-"], #"ERR SYNTAX invalid user id "-": is reserved"#),
            (["org", "add", "org_x", "--external-id", "org_acme"], #"ERR CONFLICT external id "org_acme" of organization "org_x""#),
            (["org", "add", "acme-123"], #"ERR CONFLICT organization code "acme-123""#),
            (["org", "add", "org,x"], #"ERR SYNTAX invalid organization code "org,x": holds a comma"#),
            (["org", "add", "org_x", "--external-id", "a,b"], #"ERR SYNTAX invalid external id "a,b": holds a comma"#),
        ]
        for (command, message) in cases {
            let run = try here.permd(command[0], Array(command.dropFirst()))
            #expect(run.status == 1 && run.err.hasPrefix(message) && run.out.isEmpty, "\(command): \(run)")
        }
        #expect(try here.permd("user", "list").out == "ana\n")
        #expect(try here.permd("org", "list").out == "org_acme\tAcme Ltd\tacme-123\norg_default\tDefault\t\n")
    }
}

import ArgumentParser

/// Where requests come from: the state to check against (`--users-from DB --policies DIR`),
/// or a made-up population whose answers are not checked (`--users N --org CODE --perms a,b`).
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("users-from"), help: "The database the server serves: requests are drawn from its memberships and every answer is checked.")
    var database: String?

    @Option(help: "The policy directory the server serves (with --users-from).")
    var policies: String?

    @Option(help: "Without --users-from: users <prefix>1 … <prefix>N (answers not checked).")
    var users: Int?

    @Option(help: "Without --users-from: the organization of every request.")
    var org: String?

    @Option(help: "Without --users-from: the permissions asked about, comma-separated.")
    var perms: String?

    @Option(help: "Without --users-from: the prefix of the user ids.")
    var userPrefix: String = "u"

    func validate() throws {
        if database != nil {
            guard policies != nil else { throw ValidationError("--users-from needs --policies DIR (the server's policies)") }
            guard users == nil, org == nil, perms == nil else {
                throw ValidationError("--users, --org and --perms are for runs without --users-from")
            }
        } else {
            guard policies == nil else { throw ValidationError("--policies goes with --users-from DB") }
            guard let users, users > 0, let org, !org.isEmpty, let perms, !permissionList(perms).isEmpty else {
                throw ValidationError("give --users-from DB --policies DIR (answers checked), or --users N --org CODE --perms a,b (answers not checked)")
            }
        }
    }

    /// Loads the reference state, or describes the made-up population.
    func source() throws(LoadError) -> RequestSource {
        if let database, let policies {
            return .reference(try ReferenceState.load(database: database, policies: policies))
        }
        return .synthetic(SyntheticUsers(count: users ?? 1, prefix: userPrefix, organization: org ?? "",
                                         permissions: permissionList(perms ?? "")))
    }

    private func permissionList(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init)
    }
}

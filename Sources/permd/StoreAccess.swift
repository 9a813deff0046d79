import ArgumentParser
import Logging
import PermdCore
import PermdPolicy
import PermdProtocol
import PermdStore

/// The policies and database every management command opens, and the one way they write.
struct StoreOptions: ParsableArguments {
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var database: DatabaseOptions

    /// Loads the policies and opens the database; prints what went wrong and exits 1 on failure.
    /// - Parameter access: `.readOnly` for the commands that only read (SPEC §3): the
    ///   database must exist, and nothing in it changes.
    func open(_ access: StoreAccess = .readWrite) throws -> any StateStore {
        let policies = try policy.load()
        do {
            return try StoreLocation(db: database.db).open(policy: policies, logger: commandLogger(), access: access)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// Performs one write through the store's single write path and returns its outcome;
    /// a refusal is printed as the protocol would answer it (`ERR NOT_FOUND ...`) and exits 1.
    func perform(_ write: Write) throws -> WriteOutcome {
        let store = try open()
        do {
            switch try store.perform([write])[0] {
            case .success(let outcome):
                return outcome
            case .failure(let refusal):
                printError(Reply.line(refusal))
                throw ExitCode(1)
            }
        } catch let error as StoreError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// Performs one write and prints its answer as the protocol gives it (`OK <revision>`).
    func performAndReport(_ write: Write) throws {
        print(Reply.line(try perform(write)))
    }

    /// Runs a read on the database opened read-only, printing a database failure and exiting 1.
    func read<T>(_ body: (any StateStore) throws -> T) throws -> T {
        let store = try open(.readOnly)
        do {
            return try body(store)
        } catch let error as StoreError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `USER ORG`: the membership a member, role or permission command acts on.
struct MembershipArguments: ParsableArguments {
    @Argument(help: "The user id.") var user: String
    @Argument(help: "The organization code.") var organization: String
}

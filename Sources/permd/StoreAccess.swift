import ArgumentParser
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdProtocol
import PermdStore

/// The policies and database every management command opens, and the one way they write.
struct StoreOptions: ParsableArguments {
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var writeTimeout: WriteTimeoutOptions

    /// Loads the policies and opens the database; prints what went wrong and exits 1 on failure.
    /// - Parameters:
    ///   - access: `.readOnly` for the commands that only read (SPEC §3): the database must
    ///     exist, and nothing in it changes.
    ///   - logger: where the store reports (the import raises it to info).
    func open(_ access: StoreAccess = .readWrite, logger: Logger = commandLogger()) throws -> any StateStore {
        let policies = try policy.load()
        do {
            return try StoreLocation(db: database.db).open(policy: policies, logger: logger, access: access,
                                                           writeTimeout: writeTimeout.duration)
        } catch {
            printFailure(error)
            throw ExitCode(1)
        }
    }

    /// Prints a store failure: another process's lock past the write timeout as the protocol
    /// answers it (`ERR UNAVAILABLE ...`, nothing stored), anything else as `error: ...`.
    func printFailure(_ error: StoreError) {
        if error.kind == .busy {
            printError(Reply.line(Result<WriteOutcome, WriteFailure>.failure(.unavailable(error.message))))
        } else {
            printError("error: \(error)")
        }
    }

    /// Performs one write through the store's single write path and returns its outcome;
    /// a refusal is printed as the protocol would answer it (`ERR NOT_FOUND ...`) and exits 1.
    func perform(_ write: Write) throws -> WriteOutcome {
        let store = try open()
        do {
            switch try store.perform([write], by: .commandLineUser)[0] {
            case .success(let outcome):
                return outcome
            case .failure(let refusal):
                printError(Reply.line(refusal))
                throw ExitCode(1)
            }
        } catch let error as StoreError {
            printFailure(error)
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
            printFailure(error)
            throw ExitCode(1)
        }
    }
}

extension ChangeActor {
    /// The operating-system user running this command (`cli:root`), for the audit log: the
    /// name of the real uid, or the uid itself when it has no name.
    static var commandLineUser: ChangeActor {
        let uid = getuid()
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return .cli(user: String(uid)) }
        return .cli(user: String(cString: name))
    }
}

/// `USER ORG`: the membership a member, role or permission command acts on.
struct MembershipArguments: ParsableArguments {
    @Argument(help: "The user id.") var user: String
    @Argument(help: "The organization code.") var organization: String
}

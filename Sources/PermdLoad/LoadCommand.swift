import ArgumentParser
import PermdIndex

/// `permd-load [--server HOST:PORT | --unix PATH] --connections C --pipeline D --duration S ...`:
/// the load run itself (the default subcommand).
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive a running server and check every answer (the default subcommand).",
        discussion: """
            Opens C connections (one thread each, blocking sockets) and keeps D requests in \
            flight on each for the duration. Prints a progress line per second (standard \
            error) and a summary: requests/s and latency p50, p90, p99, p99.9 and max \
            (HdrHistogram). With --rate, requests are sent at fixed intervals and latency is \
            measured from each intended send time (corrected for coordinated omission).

            With --users-from DB --policies DIR, requests are drawn from the memberships of \
            that state (and some non-members, unknown users and unknown permissions) and \
            every answer is checked against the index built from it; the first mismatches \
            are printed. Exit status 1 on any mismatch, error answer or failed connection.

            Writes (--mix write=N, with --token-file for permd's admin token) alternate \
            ROLE.ADD and ROLE.DEL (Redis: SADD and SREM) on one membership per connection, \
            of a user the reads leave alone, and end with the state as it began.
            """)

    @OptionGroup var targetOptions: TargetOptions
    @OptionGroup var stateOptions: StateOptions

    @Option(help: "Connections, one thread each.")
    var connections: Int = 4

    @Option(help: "Requests in flight on each connection.")
    var pipeline: Int = 1

    @Option(help: "Seconds to run.")
    var duration: Double = 10

    @Option(help: "Requests per second over all connections (default: as fast as answers come).")
    var rate: Double?

    @Option(help: "Weights of the request kinds: check, perms, explain, write.")
    var mix: RequestMix = .checksOnly

    @Option(help: "Seeds the requests drawn (equal seeds, equal requests).")
    var seed: UInt64 = 1

    @Flag(help: "Also print the summary as one JSON object on the last line of standard output.")
    var json = false

    func validate() throws {
        guard connections > 0 else { throw ValidationError("--connections must be at least 1") }
        guard pipeline > 0 else { throw ValidationError("--pipeline must be at least 1") }
        guard duration > 0 else { throw ValidationError("--duration must be more than 0 seconds") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be more than 0 requests per second") }
        if targetOptions.target == .redis, mix.includes(.explain) {
            throw ValidationError("--target redis has no EXPLAIN; leave explain out of --mix")
        }
        if mix.includes(.write), stateOptions.database == nil {
            throw ValidationError("writes need --users-from DB --policies DIR (the memberships they toggle)")
        }
    }

    func run() throws {
        do {
            let token = try targetOptions.token()
            let source = try stateOptions.source()
            let workload = Workload(source: source, mix: mix, dialect: targetOptions.target, seed: seed)
            let plans = try workload.plans(connections: connections)
            let run = LoadRun(endpoint: targetOptions.endpoint, dialect: targetOptions.target, plans: plans,
                              pipeline: pipeline, duration: duration, rate: rate, token: token)
            let result = try run.run()
            var reference: String?
            if case .reference(let state) = source, let database = stateOptions.database {
                let statistics = state.snapshot.statistics
                reference = "\(database) at revision \(state.snapshot.revision) (\(statistics.users) users, \(statistics.memberships) memberships)"
            }
            let summary = LoadSummary(dialect: targetOptions.target, endpoint: targetOptions.endpoint,
                                      connections: connections, pipeline: pipeline, duration: duration, rate: rate,
                                      mix: mix, reference: reference, result: result)
            for line in summary.lines { print(line) }
            if json { print(summary.json) }
            guard summary.passed else { throw ExitCode(1) }
        } catch let error as LoadError {
            printError("permd-load: \(error)")
            throw ExitCode(1)
        }
    }
}

import Benchmark
import Foundation
import PermdPolicy

/// A large policy directory: 10,000 permissions over 10 files and 2,000 roles, with
/// includes several levels deep, prefix wildcards and one `*` owner.
enum LargePolicy {
    static let verbs = ["read", "write", "delete", "export", "manage"]
    static let resources = 2_000
    static let roles = 2_000

    static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("permd-policy-benchmark-\(ProcessInfo.processInfo.processIdentifier)").path

    /// Writes the policy set; with `misspelled`, one more role lists that many unknown
    /// keys (each one letter off a defined key), to time the "did you mean" search.
    static func write(misspelled: Int = 0) throws -> String {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory + "/permissions", withIntermediateDirectories: true)
        var keys: [String] = []
        for resource in 0..<resources {
            for verb in verbs { keys.append("\(verb):resource\(resource)") }
        }
        for chunk in 0..<10 {
            let slice = keys[(chunk * 1_000)..<((chunk + 1) * 1_000)]
            let entries = slice.map { #"{"key": "\#($0)", "name": "\#($0)", "description": "Generated permission \#($0)"}"# }
            try write("permissions/part\(chunk).json", #"{"permissions": [\#(entries.joined(separator: ",\n"))]}"#)
        }
        var roleEntries: [String] = [#"{"key": "owner", "permissions": ["*"]}"#]
        for index in 1..<roles {
            // A binary tree of includes (about 11 levels); every 50th role adds a prefix wildcard.
            let includes = index > 1 ? #", "includes": ["role\#(index / 2)"]"# : ""
            var permissions = (0..<5).map { "\"\(verbs[$0]):resource\((index * 7 + $0 * 13) % resources)\"" }
            if index % 50 == 0 { permissions.append("\"export:resource\(index % 10)*\"") }
            let defaultFlag = index == 1 ? #", "default_for_new_users": true"# : ""
            roleEntries.append(#"{"key": "role\#(index)", "name": "Role \#(index)", "permissions": [\#(permissions.joined(separator: ", "))]\#(includes)\#(defaultFlag)}"#)
        }
        if misspelled > 0 {
            let typos = (0..<misspelled).map { "\"\(keys[$0 * 7 % keys.count])x\"" }
            roleEntries.append(#"{"key": "typos", "permissions": [\#(typos.joined(separator: ", "))]}"#)
        }
        try write("roles.json", #"{"roles": [\#(roleEntries.joined(separator: ",\n"))]}"#)
        try write("organizations.json", #"{"organizations": [{"code": "org_default"}, {"code": "org_acme", "external_id": "acme"}]}"#)
        try write("settings.json", #"{"settings": {"default_organization": "org_default"}}"#)
        return directory
    }

    private static func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + relative))
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "Load and validate 10,000 permissions and 2,000 roles",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
                             maxDuration: .seconds(20), maxIterations: 10)
    ) { benchmark, directory in
        for _ in benchmark.scaledIterations {
            let result = PolicyLoader.load(directory: directory)
            precondition(result.policy != nil, "the generated policies must validate: \(result.diagnostics.prefix(3))")
            blackHole(result)
        }
    } setup: {
        try LargePolicy.write()
    } teardown: {
        try? FileManager.default.removeItem(atPath: LargePolicy.directory)
    }

    Benchmark(
        "Validate 10,000 permissions and 2,000 roles with 1,000 misspelled keys",
        configuration: .init(metrics: [.wallClock], maxDuration: .seconds(20), maxIterations: 10)
    ) { benchmark, directory in
        for _ in benchmark.scaledIterations {
            let result = PolicyLoader.load(directory: directory)
            precondition(result.diagnostics.count >= 1_000, "every misspelling must be reported")
            blackHole(result)
        }
    } setup: {
        try LargePolicy.write(misspelled: 1_000)
    } teardown: {
        try? FileManager.default.removeItem(atPath: LargePolicy.directory)
    }
}

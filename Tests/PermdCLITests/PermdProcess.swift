import Foundation
import PermdTestSupport

/// Runs the built `permd` executable as a user would, and captures what it prints.
///
/// The binary is `$PERMD_BIN` when set, else the `permd` file next to the test bundle
/// (SwiftPM puts both in `<scratch>/debug/`).
struct PermdProcess {
    /// What one run printed, and how it ended.
    struct Outcome: CustomStringConvertible {
        var status: Int32
        var standardOutput: String
        var standardError: String

        /// Standard output split into lines, without the final empty one.
        var lines: [String] {
            standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }

        var description: String { "exit \(status)\nstdout:\n\(standardOutput)\nstderr:\n\(standardError)" }
    }

    /// Errors of the harness itself (not of permd).
    struct HarnessError: Error, CustomStringConvertible {
        var description: String
    }

    /// The path of the `permd` executable.
    static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["PERMD_BIN"] {
            return URL(fileURLWithPath: path)
        }
        let starts = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])]
            + Bundle.allBundles.map(\.bundleURL)
        for start in starts {
            var directory = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = directory.appendingPathComponent("permd")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw HarnessError(description: "cannot find the permd executable; build it first or set PERMD_BIN")
    }

    /// Runs `permd arguments...` and waits for it to exit.
    /// - Parameters:
    ///   - arguments: the command line after `permd`.
    ///   - environment: variables added to (or, when nil, removed from) the test's environment;
    ///     every other `PERMD_*` variable is removed so the host cannot change the outcome.
    ///   - directory: the working directory (default: the test's).
    ///   - input: bytes written to standard input.
    static func run(_ arguments: [String], environment: [String: String?] = [:],
                    in directory: String? = nil, input: String? = nil) throws -> Outcome {
        try launch(try executable(), arguments, environment: environment, in: directory, input: input)
    }

    /// Runs `script` with `/bin/sh -c`, where `"$PERMD"` is the `permd` executable: for
    /// command lines Foundation cannot pass (arguments that are not valid UTF-8, made with
    /// `printf '\351'`), since `Process` takes its arguments as Strings.
    static func run(shell script: String, environment: [String: String?] = [:],
                    in directory: String? = nil) throws -> Outcome {
        try launch(URL(fileURLWithPath: "/bin/sh"), ["-c", script],
                   environment: environment.merging(["PERMD": try executable().path]) { given, _ in given },
                   in: directory, input: nil)
    }

    private static func launch(_ executable: URL, _ arguments: [String], environment: [String: String?],
                               in directory: String?, input: String?) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }

        // Files, not pipes: a chatty child can never block on a full pipe.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("permd-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((input ?? "").utf8))
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let inp = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        process.waitUntilExit()
        // The output is in the files whatever closing says: a close that fails (EBADF was seen
        // once in a full run, some other part of the test process closing a descriptor twice)
        // must not fail the command's test.
        try? out.close()
        try? err.close()
        try? inp.close()
        return Outcome(
            status: process.terminationStatus,
            standardOutput: String(decoding: try fileContents(outURL), as: UTF8.self),
            standardError: String(decoding: try fileContents(errURL), as: UTF8.self))
    }

    /// A fresh temporary directory holding `files` (path relative to it → content).
    static func temporaryDirectory(_ files: [String: String] = [:]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-cli-\(UUID().uuidString)")
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.path
    }

    /// The repository root, found from this file's path (for the shipped `policies/`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

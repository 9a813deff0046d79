public import Foundation

/// How a command run by `runToEnd` ended: its exit status and what it wrote.
public struct CommandRun: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs `executable` with `arguments` to its end, without the `PERMD_` variables of the test
/// process. Output goes to files, not pipes, so that a chatty child never blocks on a full
/// pipe; the files are read whatever closing their handles says (EBADF was seen once in a
/// full run, another part of the test process closing a descriptor twice).
public func runToEnd(_ executable: URL, _ arguments: [String]) throws -> CommandRun {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("permd-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try? out.close()
    try? err.close()
    return CommandRun(status: process.terminationStatus,
                      standardOutput: String(decoding: try fileContents(outURL), as: UTF8.self),
                      standardError: String(decoding: try fileContents(errURL), as: UTF8.self))
}

import Foundation
import PermdTestSupport
import Testing

/// The examples in `deploy/` name options of `permd serve` that exist, and the systemd unit
/// is one that systemd accepts (where `systemd-analyze` is installed): an example that a
/// renamed option broke would fail only on the operator's machine.
@Suite struct DeployExampleTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy")
    static let examples = ["systemd/permd.service", "sidecar/kubernetes.yaml", "sidecar/docker-compose.yml"]

    /// The `--option` words an example gives `permd serve` (`--name=value` and `--name value`).
    static func serveOptions(in text: String) -> Set<String> {
        var options = Set<String>()
        for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
            var rest = line[...]
            while let range = rest.range(of: "--") {
                let name = rest[range.lowerBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
                if name.count > 2 { options.insert(String(name)) }
                rest = rest[range.upperBound...]
            }
        }
        return options
    }

    @Test func everyServeOptionTheExamplesGiveExists() throws {
        let help = try runToEnd(try builtPermdBinary(), ["serve", "--help"])
        #expect(help.status == 0)
        var checked = 0
        for example in Self.examples {
            let text = try String(contentsOf: Self.deploy.appendingPathComponent(example), encoding: .utf8)
            // Only the lines of permd's own command: the compose file also runs pip for the client.
            let permdLines = text.split(separator: "\n").filter { !$0.contains("pip ") }.joined(separator: "\n")
            for option in Self.serveOptions(in: permdLines) {
                #expect(help.standardOutput.contains(option + " ") || help.standardOutput.contains(option + "\n")
                            || help.standardOutput.contains(option + ","), "\(example): permd serve has no \(option)")
                checked += 1
            }
        }
        #expect(checked >= 12, "the examples' options were not found (\(checked))")
    }

    @Test func systemdAcceptsTheUnit() throws {
        let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let analyze else {
            print("systemd-analyze is not installed: the unit is not verified here")
            return
        }
        // The unit names /usr/local/bin/permd; here the built binary stands in for it.
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent("systemd/permd.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/permd", with: try builtPermdBinary().path)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("permd-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("permd.service")
        try unit.write(to: path, atomically: true, encoding: .utf8)
        let verified = try runToEnd(URL(fileURLWithPath: analyze), ["verify", path.path])
        #expect(verified.status == 0, "\(verified.standardError)")
        #expect(!verified.standardError.contains("permd.service"), "\(verified.standardError)")
    }
}

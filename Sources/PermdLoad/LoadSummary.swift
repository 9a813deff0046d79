import Foundation
import Histogram
import PermdJSON

/// What a run prints at its end: a few lines for a person and, with `--json`, the same as
/// one JSON object on the last line.
struct LoadSummary {
    var dialect: Dialect
    var endpoint: Endpoint
    var connections: Int
    var pipeline: Int
    var duration: Double
    var rate: Double?
    var mix: RequestMix
    /// What answers were checked against (`DB at revision N`), nil when they were not.
    var reference: String?
    var result: LoadRun.Result

    /// The percentiles reported, with their JSON names.
    static let percentiles: [(name: String, label: String, value: Double)] = [
        ("p50", "p50", 50), ("p90", "p90", 90), ("p99", "p99", 99), ("p99_9", "p99.9", 99.9),
    ]

    var requestsPerSecond: Double {
        result.elapsed > 0 ? Double(result.completed) / result.elapsed : 0
    }

    /// Latency at each reported percentile, then the maximum, in nanoseconds.
    var latencies: [(name: String, label: String, nanoseconds: UInt64)] {
        let histogram = result.histogram
        guard histogram.totalCount > 0 else {
            return Self.percentiles.map { ($0.name, $0.label, 0) } + [("max", "max", 0)]
        }
        return Self.percentiles.map { ($0.name, $0.label, histogram.valueAtPercentile($0.value)) }
            + [("max", "max", histogram.max)]
    }

    var lines: [String] {
        let pace = rate.map { "at \(Self.number($0)) requests/s (latency from each intended send time)" }
            ?? "as fast as answers come"
        var lines = [
            "\(dialect.rawValue) at \(endpoint): \(connections) connections × \(pipeline) in flight, \(Self.seconds(duration)) s, mix \(mix), \(pace)",
            "requests: \(result.completed) in \(Self.seconds(result.elapsed)) s = \(Self.number(requestsPerSecond)) requests/s",
        ]
        if let reference {
            lines.append("answers: every answer checked against \(reference): \(result.mismatches) mismatches, \(result.errors) errors")
        } else {
            lines.append("answers: NOT checked (no --users-from); \(result.errors) errors")
        }
        lines.append("latency ms: " + latencies.map { "\($0.label) \(Self.milliseconds($0.nanoseconds))" }.joined(separator: "  "))
        for failure in result.failures.prefix(MismatchLog.printed) {
            lines.append("connection failed: \(failure)")
        }
        if result.failures.count > MismatchLog.printed {
            lines.append("… and \(result.failures.count - MismatchLog.printed) more connections failed")
        }
        return lines
    }

    /// The summary as one JSON object; times in whole milliseconds, latencies in whole
    /// microseconds (jansson would print a fraction with seventeen digits).
    var json: String {
        var members: [JSONMember] = [
            JSONMember("target", .string(dialect.rawValue)),
            JSONMember("server", .string(endpoint.description)),
            JSONMember("connections", .integer(Int64(connections))),
            JSONMember("pipeline", .integer(Int64(pipeline))),
            JSONMember("duration_ms", .integer(Int64((duration * 1000).rounded()))),
            JSONMember("rate", rate.map { .integer(Int64($0)) } ?? .null),
            JSONMember("mix", .string(mix.description)),
            JSONMember("elapsed_ms", .integer(Int64((result.elapsed * 1000).rounded()))),
            JSONMember("requests", .integer(Int64(result.completed))),
            JSONMember("requests_per_s", .integer(Int64(requestsPerSecond.rounded()))),
            JSONMember("checked", .bool(reference != nil)),
            JSONMember("mismatches", .integer(Int64(result.mismatches))),
            JSONMember("errors", .integer(Int64(result.errors))),
            JSONMember("failed_connections", .integer(Int64(result.failures.count))),
        ]
        for latency in latencies {
            members.append(JSONMember(latency.name + "_us", .integer(Int64((Double(latency.nanoseconds) / 1000).rounded()))))
        }
        return JSONValue.object(members).serialized()
    }

    /// Whether the run passed: every answer right and every connection to the end.
    var passed: Bool {
        result.mismatches == 0 && result.errors == 0 && result.failures.isEmpty
    }

    private static func number(_ value: Double) -> String {
        String(Int(value.rounded()))
    }

    private static func seconds(_ value: Double) -> String {
        String(format: "%.2f", value)
    }

    private static func milliseconds(_ nanoseconds: UInt64) -> String {
        String(format: "%.3f", Double(nanoseconds) / 1e6)
    }
}

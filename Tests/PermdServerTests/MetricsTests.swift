import Foundation
import Logging
import NIOCore
import PermdPolicy
@testable import PermdServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over a plain socket: the status code, the headers as sent, the body.
struct HTTPAnswer {
    var status: Int
    var head: String
    var body: String

    /// The value of the sample `series` (`name{labels}` exactly as exposed), nil when absent.
    func sample(_ series: String) -> Double? {
        for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

func httpGet(port: Int, _ path: String, method: String = "GET") throws -> HTTPAnswer {
    let client = try LineClient(port: port)
    try client.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    var lines: [String] = []
    while let line = try client.readLine() { lines.append(line + "\n") }
    let text = lines.joined()
    guard let split = text.range(of: "\r\n\r") else { throw ClientError(description: "no HTTP head in \(text)") }
    let head = String(text[..<split.lowerBound])
    let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    var body = String(text[split.upperBound...])
    if body.hasPrefix("\n") { body.removeFirst() }
    return HTTPAnswer(status: status, head: head, body: body)
}

@Suite(.serialized) struct MetricsTests {
    /// A metrics listener on a free loopback port for `status`, shut down after `body`.
    func withMetrics(_ status: ServingStatus, _ body: (Int) async throws -> Void) async throws {
        let metrics = MetricsServer(host: "127.0.0.1", port: 0, status: status, logger: Logger(label: "permd-test"))
        try await metrics.start()
        let port = try #require(metrics.address?.port)
        do { try await body(port) } catch {
            await metrics.shutdown()
            throw error
        }
        await metrics.shutdown()
    }

    @Test func beforeTheIndexIsBuiltReadyzAnswers503WithTheReason() async throws {
        try await withMetrics(ServingStatus()) { port in
            let ready = try httpGet(port: port, "/readyz")
            #expect(ready.status == 503)
            #expect(ready.body == "building the index\n")
            let health = try httpGet(port: port, "/healthz")
            #expect(health.status == 200 && health.body == "ok\n")
            #expect(try httpGet(port: port, "/metrics").status == 200)
            #expect(try httpGet(port: port, "/").status == 404)
            #expect(try httpGet(port: port, "/metrics/extra").status == 404)
            let post = try httpGet(port: port, "/metrics", method: "POST")
            #expect(post.status == 405 && post.head.contains("Allow: GET, HEAD"))
        }
    }

    @Test func aServingServerIsReadyAndItsCountsAreScraped() async throws {
        try await withTestServer { server in
            let status = ServingStatus()
            status.serving(server.server)
            try await withMetrics(status) { port in
                #expect(try httpGet(port: port, "/readyz").body == "ready\n")
                let admin = try server.admin()
                #expect(try admin.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
                #expect(try admin.request("CHECK ana org_default read:invoices") == "ALLOW")
                #expect(try admin.request("CHECK ana org_default read:invoices delete:org nope") == "ALLOW DENY DENY")
                #expect(try admin.request("FROB").hasPrefix("ERR UNKNOWN_COMMAND"))
                #expect(try admin.request("CHECK ana").hasPrefix("ERR ARITY"))
                #expect(try admin.request("USER.DEL nobody").hasPrefix("ERR NOT_FOUND"))
                #expect(try admin.request("RELOAD").hasPrefix("OK "))
                try "{".write(toFile: server.policiesPath + "/broken.json", atomically: true, encoding: .utf8)
                #expect(try admin.request("RELOAD").hasPrefix("ERR INVALID"))

                let scrape = try httpGet(port: port, "/metrics")
                #expect(scrape.status == 200)
                #expect(scrape.head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
                // The malformed CHECK is counted as an error only.
                #expect(scrape.sample(#"permd_requests_total{command="CHECK"}"#) == 2)
                #expect(scrape.sample(#"permd_requests_total{command="USER.ADD"}"#) == 1)
                #expect(scrape.sample(#"permd_requests_total{command="AUTH"}"#) == 1)
                #expect(scrape.sample(#"permd_checks_total{result="allow"}"#) == 2)
                #expect(scrape.sample(#"permd_checks_total{result="deny"}"#) == 2)
                #expect(scrape.sample(#"permd_errors_total{code="UNKNOWN_COMMAND"}"#) == 1)
                #expect(scrape.sample(#"permd_errors_total{code="ARITY"}"#) == 1)
                #expect(scrape.sample(#"permd_errors_total{code="NOT_FOUND"}"#) == 1)
                #expect(scrape.sample(#"permd_errors_total{code="INVALID"}"#) == 1)
                #expect(scrape.sample(#"permd_reloads_total{result="ok"}"#) == 1)
                #expect(scrape.sample(#"permd_reloads_total{result="invalid"}"#) == 1)
                #expect(scrape.sample("permd_connections") == 1)
                #expect(scrape.sample("permd_revision") == Double(server.server.revision))
                #expect(scrape.sample("permd_index_memberships") == 1)
                #expect((scrape.sample("permd_index_bytes") ?? 0) > 0)
                #expect(scrape.sample("permd_index_build_seconds") != nil)
                // USER.ADD, USER.DEL and the two RELOADs: each its own batch, one after the other.
                #expect(scrape.sample("permd_write_commit_seconds_count") == 4)
                #expect(scrape.sample(#"permd_write_commit_seconds_bucket{le="+Inf"}"#) == 4)
                // The digest served is the one of the files loaded at start (the broken reload kept them).
                let served = try #require(scrape.body.split(separator: "\n").first { $0.hasPrefix("permd_policy_info{") })
                try FileManager.default.removeItem(atPath: server.policiesPath + "/broken.json")
                let expected = try #require(PolicyLoader.load(directory: server.policiesPath).policy?.digest)
                #expect(served == "permd_policy_info{digest=\"\(expected)\"} 1.0")
                #expect(scrape.body.contains("# HELP permd_checks_total "))
                #expect(scrape.body.contains("# TYPE permd_write_commit_seconds histogram"))
                // SQLite: no replication series.
                #expect(!scrape.body.contains("permd_database_up"))
            }
        }
    }

    @Test func replicationHealthDecidesReadinessAndIsExposed() async throws {
        struct Replica: ReplicationHealth {
            let replicationState: ReplicationState
        }
        try await withTestServer { server in
            let status = ServingStatus()
            status.serving(server.server)
            status.watchReplication(Replica(replicationState: ReplicationState(databaseUp: true, lagSeconds: 2.5)))
            try await withMetrics(status) { port in
                let ready = try httpGet(port: port, "/readyz")
                #expect(ready.status == 503 && ready.body == "2.5 seconds behind the database\n")
                let scrape = try httpGet(port: port, "/metrics")
                #expect(scrape.sample("permd_database_up") == 1)
                #expect(scrape.sample("permd_replication_lag_seconds") == 2.5)
                #expect(scrape.body.contains("# TYPE permd_database_up gauge\n"))
                #expect(scrape.body.contains("# HELP permd_replication_lag_seconds Age of the newest database change"))
                await server.server.shutdown()
                #expect(try httpGet(port: port, "/readyz").body == "shutting down\n")
            }
        }
    }

    @Test func serveMetricsListenServesOnItsOwnPortAndCountsSIGHUP() async throws {
        let folder = try ServeFolder()
        let metricsPort = freePort()
        let server = try await ServeProcess(folder: folder, arguments: ["--metrics-listen", "127.0.0.1:\(metricsPort)"])
        defer { server.stop() }
        #expect(try httpGet(port: metricsPort, "/readyz").body == "ready\n")
        server.signal(SIGHUP)
        try await server.waitForLog("SIGHUP: OK")
        let scrape = try httpGet(port: metricsPort, "/metrics")
        #expect(scrape.sample(#"permd_reloads_total{result="ok"}"#) == 1)
        let digest = try #require(PolicyLoader.load(directory: folder.policies.path).policy?.digest)
        #expect(scrape.sample("permd_policy_info{digest=\"\(digest)\"}") == 1)
    }

    @Test func readinessRule() {
        #expect(Readiness.of(indexBuilt: false, stopping: false, replication: nil) == .notReady("building the index"))
        #expect(Readiness.of(indexBuilt: true, stopping: false, replication: nil) == .ready)
        #expect(Readiness.of(indexBuilt: true, stopping: true, replication: nil) == .notReady("shutting down"))
        let down = ReplicationState(databaseUp: false, lagSeconds: 0)
        #expect(Readiness.of(indexBuilt: true, stopping: false, replication: down) == .notReady("the database is out of reach"))
        let close = ReplicationState(databaseUp: true, lagSeconds: 0.4)
        #expect(Readiness.of(indexBuilt: true, stopping: false, replication: close) == .ready)
    }

    /// SPEC §9's series with the type each is exposed as.
    static let seriesTypes: [(name: String, type: String)] = [
        ("permd_requests_total", "counter"), ("permd_checks_total", "counter"), ("permd_errors_total", "counter"),
        ("permd_connections", "gauge"), ("permd_revision", "gauge"), ("permd_index_bytes", "gauge"),
        ("permd_index_memberships", "gauge"), ("permd_index_build_seconds", "gauge"),
        ("permd_write_commit_seconds", "histogram"), ("permd_reloads_total", "counter"), ("permd_policy_info", "gauge"),
    ]

    /// What is wrong with a scrape's page: a series of SPEC §9 without its `# TYPE` line or a
    /// sentence of `# HELP`, a line that is not a sample, a series SPEC does not list.
    static func problems(in page: String) -> [String] {
        let lines = page.split(separator: "\n").map(String.init)
        var problems: [String] = []
        for (name, type) in seriesTypes {
            if lines.filter({ $0 == "# TYPE \(name) \(type)" }).count != 1 { problems.append("\(name) is not one \(type)") }
            let help = lines.first { $0.hasPrefix("# HELP \(name) ") }?.dropFirst("# HELP \(name) ".count) ?? ""
            if help.split(separator: " ").count < 5 { problems.append("\(name) has no sentence of help: \(help)") }
        }
        // Every other line is a sample: a series, a space, a number.
        for line in lines where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count != 2 || Double(parts[1]) == nil { problems.append("not a sample: \(line)") }
            if !seriesTypes.contains(where: { line.hasPrefix($0.name) }) { problems.append("not in SPEC §9: \(line)") }
        }
        return problems
    }

    @Test func everySeriesHasItsTypeAndAHelpLineAPersonCanRead() async throws {
        try await withTestServer { server in
            let status = ServingStatus()
            status.serving(server.server)
            try await withMetrics(status) { port in
                let page = try httpGet(port: port, "/metrics").body
                #expect(Self.problems(in: page) == [])
            }
        }
    }

    @Test func eachScrapeAddsOnlyWhatGrewSinceTheLastOne() async throws {
        try await withTestServer { server in
            let status = ServingStatus()
            status.serving(server.server)
            try await withMetrics(status) { port in
                let admin = try server.admin()
                #expect(try admin.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
                #expect(try admin.request("CHECK ana org_default read:invoices") == "ALLOW")
                let checks = #"permd_requests_total{command="CHECK"}"#, allows = #"permd_checks_total{result="allow"}"#
                let first = try httpGet(port: port, "/metrics")
                #expect(first.sample(checks) == 1 && first.sample(allows) == 1)
                let again = try httpGet(port: port, "/metrics")
                #expect(again.sample(checks) == 1 && again.sample(allows) == 1)
                #expect(try admin.request("CHECK ana org_default read:invoices") == "ALLOW")
                let after = try httpGet(port: port, "/metrics")
                #expect(after.sample(checks) == 2 && after.sample(allows) == 2)
                #expect(after.sample("permd_write_commit_seconds_count") == 1)
            }
        }
    }

    @Test func aReloadOfOtherPoliciesReplacesTheDigestExposed() async throws {
        try await withTestServer { server in
            let status = ServingStatus()
            status.serving(server.server)
            try await withMetrics(status) { port in
                func digests() throws -> [String] {
                    try httpGet(port: port, "/metrics").body.split(separator: "\n")
                        .filter { $0.hasPrefix("permd_policy_info{") }.map(String.init)
                }
                let before = try digests()
                #expect(before.count == 1)
                let changed = TestServer.policyJSON.replacingOccurrences(
                    of: #"{"key": "delete:org"}"#, with: #"{"key": "delete:org"}, {"key": "read:reports"}"#)
                try changed.write(toFile: server.policiesPath + "/policy.json", atomically: true, encoding: .utf8)
                #expect(try server.admin().request("RELOAD").hasPrefix("OK "))
                let digest = try #require(PolicyLoader.load(directory: server.policiesPath).policy?.digest)
                #expect(try digests() == ["permd_policy_info{digest=\"\(digest)\"} 1.0"])
                #expect(before != ["permd_policy_info{digest=\"\(digest)\"} 1.0"])
            }
        }
    }
}

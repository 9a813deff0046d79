import ArgumentParser

/// The kinds of request a load run sends.
enum RequestKind: String, CaseIterable, Sendable {
    /// `CHECK user org perm` (Redis: `SISMEMBER`).
    case check
    /// `PERMS user org` (Redis: `SMEMBERS`).
    case perms
    /// `EXPLAIN user org perm` (no Redis equivalent).
    case explain
    /// A durable write that alternates `ROLE.ADD` and `ROLE.DEL` on one membership owned by
    /// the connection (Redis: `SADD` and `SREM` on that membership's set).
    case write
}

/// How often each kind of request is sent, as `check=90,perms=5,explain=5` says: weights,
/// not necessarily summing to 100.
struct RequestMix: Sendable, CustomStringConvertible, ExpressibleByArgument {
    /// The weight of each kind sent (kinds not sent are absent).
    let weights: [RequestKind: Int]

    /// The `--mix` default: CHECK only, the sidecar's shape.
    static let checksOnly = RequestMix(weights: [.check: 100])

    init(weights: [RequestKind: Int]) {
        self.weights = weights.filter { $0.value > 0 }
    }

    init?(argument: String) {
        var weights: [RequestKind: Int] = [:]
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2, let kind = RequestKind(rawValue: pair[0].lowercased()), weights[kind] == nil,
                  let weight = Int(pair[1]), weight >= 0 else { return nil }
            weights[kind] = weight
        }
        guard weights.values.contains(where: { $0 > 0 }) else { return nil }
        self.init(weights: weights)
    }

    /// Whether the mix sends `kind` at all.
    func includes(_ kind: RequestKind) -> Bool {
        weights[kind] != nil
    }

    /// One kind drawn with the mix's weights.
    func draw(_ random: inout SplitMix) -> RequestKind {
        let total = weights.values.reduce(0, +)
        var ticket = random.below(total)
        for kind in RequestKind.allCases {
            guard let weight = weights[kind] else { continue }
            if ticket < weight { return kind }
            ticket -= weight
        }
        return .check
    }

    var description: String {
        RequestKind.allCases.compactMap { kind in weights[kind].map { "\(kind.rawValue)=\($0)" } }
            .joined(separator: ",")
    }
}

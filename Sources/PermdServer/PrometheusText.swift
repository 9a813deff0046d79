/// Builds the Prometheus text exposition format (version 0.0.4): each metric family with
/// its `# HELP` and `# TYPE` lines, then its samples. Pure; the scrape fills it.
struct PrometheusText {
    /// The content type a scrape is answered with.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var text = ""

    /// Starts a family: `help` is one sentence for a person reading the scrape.
    mutating func family(_ name: String, _ kind: Kind, help: String) {
        text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample of the current family.
    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapedLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Int) {
        sample(name, labels: labels, Double(value))
    }

    /// A histogram family's buckets, sum and count.
    mutating func histogram(_ name: String, bounds: [Double], reading: (cumulative: [Int], sum: Double, count: Int)) {
        for (bound, count) in zip(bounds, reading.cumulative) {
            sample(name + "_bucket", labels: [("le", Self.number(bound))], count)
        }
        sample(name + "_bucket", labels: [("le", "+Inf")], reading.count)
        sample(name + "_sum", reading.sum)
        sample(name + "_count", reading.count)
    }

    /// Whole numbers without a fraction, others as Swift prints a Double (both parse as floats).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A label value: backslash, double quote and newline escaped.
    static func escapedLabel(_ value: String) -> String {
        escaped(value, quote: true)
    }

    /// A HELP text: backslash and newline escaped.
    static func escapedHelp(_ value: String) -> String {
        escaped(value, quote: false)
    }

    private static func escaped(_ value: String, quote: Bool) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"" where quote: escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

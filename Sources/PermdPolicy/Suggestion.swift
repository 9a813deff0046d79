import PermdJSON

/// "Did you mean" suggestions for misspelled names, by edit distance.
///
/// The work is bounded: candidates whose length alone rules them out are skipped, the
/// distance computation stops as soon as it exceeds the bound, and only close names
/// (a quarter of the name's length, at most three edits) are suggested.
public enum Suggestion {
    /// The largest edit distance suggested for a name of `length` bytes.
    static func maxDistance(forLength length: Int) -> Int {
        min(3, max(1, length / 4))
    }

    /// The closest candidate to `name` within the bound, ties broken by the smaller
    /// candidate; nil when none is close enough.
    public static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let target = Array(name.utf8)
        let bound = maxDistance(forLength: target.count)
        var best: (distance: Int, candidate: String)?
        var row: [Int] = []
        for candidate in candidates where candidate != name {
            let limit = best?.distance ?? bound
            guard abs(candidate.utf8.count - target.count) <= limit else { continue }
            var candidate = candidate
            let distance = candidate.withUTF8 { bytes in
                target.withUnsafeBufferPointer { boundedDistance($0, bytes, limit: limit, row: &row) }
            }
            guard let distance else { continue }
            if let current = best, current.distance < distance || (current.distance == distance && current.candidate < candidate) {
                continue
            }
            best = (distance, candidate)
        }
        return best?.candidate
    }

    /// ` (did you mean "x"?)`, or the empty string when nothing is close.
    static func hint(for name: String, among candidates: some Sequence<String>) -> String {
        closest(to: name, among: candidates).map { " (did you mean \(quoted($0))?)" } ?? ""
    }

    /// The Levenshtein distance between `a` and `b` when it is at most `limit`, else nil.
    /// Only the diagonal band of width `2 * limit + 1` is computed (cells outside it exceed
    /// the limit anyway), and the computation stops once a whole row exceeds it.
    /// `row` is scratch space reused across calls.
    static func boundedDistance(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>,
                                limit: Int, row: inout [Int]) -> Int? {
        let n = a.count
        let m = b.count
        if abs(n - m) > limit { return nil }
        if n == 0 || m == 0 { return max(n, m) }
        let outside = limit + 1
        row.removeAll(keepingCapacity: true)
        for j in 0...m { row.append(min(j, outside)) }
        return row.withUnsafeMutableBufferPointer { row -> Int? in
            for i in 1...n {
                let low = max(1, i - limit)
                let high = min(m, i + limit)
                var diagonal = row[low - 1]
                row[low - 1] = low == 1 ? min(i, outside) : outside
                var rowMinimum = row[low - 1]
                let ai = a[i - 1]
                for j in low...high {
                    let above = row[j]
                    var value = diagonal + (ai == b[j - 1] ? 0 : 1)
                    if above + 1 < value { value = above + 1 }
                    if row[j - 1] + 1 < value { value = row[j - 1] + 1 }
                    row[j] = value
                    diagonal = above
                    if value < rowMinimum { rowMinimum = value }
                }
                if rowMinimum > limit { return nil }
            }
            return row[m] <= limit ? row[m] : nil
        }
    }
}

/// A string quoted for a message, as JSON writes it: `"read:invoice"`.
func quoted(_ text: String) -> String {
    JSONValue.string(text).serialized()
}

/// A value shown in a message: its kind and, for short values, the value itself
/// (`a string "yes"`, `an object {"key":"x"}`); long values are cut.
func described(_ value: JSONValue) -> String {
    if case .null = value { return "null" }
    let text = value.serialized()
    let limit = 60
    let shown = text.utf8.count <= limit ? text : String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "…"
    return "\(value.kindDescription) \(shown)"
}

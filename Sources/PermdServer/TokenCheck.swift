/// Compares a presented token with the configured one in time that does not depend on
/// where they differ.
func tokensMatch(_ presented: String, _ expected: String) -> Bool {
    let a = Array(presented.utf8)
    let b = Array(expected.utf8)
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<max(a.count, b.count) {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}

// Numbers for people, without Foundation.

/// `1234567.0` → `1.23M`, `12345` → `12.3k`: rates for people (no Foundation).
public func formatRate(_ r: Double) -> String {
    if r >= 1e6 { return formatFixed(r / 1e6, 2) + "M" }
    if r >= 1e3 { return formatFixed(r / 1e3, 1) + "k" }
    return formatFixed(r, 0)
}

/// Fixed-point formatting without Foundation: `formatFixed(3.14159, 2)` is `3.14`.
public func formatFixed(_ v: Double, _ decimals: Int) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    let whole = UInt64(scaled / scale)
    var frac = UInt64(scaled - Double(whole) * scale)
    var s = (v < 0 && scaled != 0 ? "-" : "") + String(whole)
    if decimals > 0 {
        var digits = ""
        for _ in 0..<decimals {
            digits = String(frac % 10) + digits
            frac /= 10
        }
        s += "." + digits
    }
    return s
}

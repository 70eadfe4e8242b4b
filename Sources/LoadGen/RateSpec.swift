import PipeperfBase
import AdminHTTP

/// A target rate in items per second, or `max` (closed loop: as fast as replies allow).
public enum Rate: Sendable, Equatable, CustomStringConvertible {
    case perSecond(Double)
    case max

    /// Parses `250`, `100k`, `1.5M`, `2m`, `1G` or `max`. Suffixes: k = 10^3, M/m = 10^6, G/g = 10^9.
    public static func parse(_ text: String) -> Rate? {
        let t = text.trimmingSpaces
        if t.lowercased() == "max" { return .max }
        guard let last = t.last else { return nil }
        var multiplier = 1.0
        var digits = Substring(t)
        switch last {
        case "k", "K": multiplier = 1e3
        case "m", "M": multiplier = 1e6
        case "g", "G": multiplier = 1e9
        default: break
        }
        if multiplier != 1 { digits = digits.dropLast() }
        guard let v = Double(digits), v.isFinite, v > 0 else { return nil }
        let r = v * multiplier
        return r <= 1e10 ? .perSecond(r) : nil
    }

    public var description: String {
        switch self {
        case .max: return "max"
        case .perSecond(let r): return formatRate(r)
        }
    }
}

/// Fixed-point formatting (shared with the admin JSON writer).
func fixed(_ v: Double, _ decimals: Int) -> String { formatFixed(v, decimals) }

// Durations as people write them on command lines and in JSON: 30s, 500ms, 2m, 1m30s.

/// A duration such as `30s`, `500ms`, `2m`, `1h`, `1m30s` or a bare number of seconds.
public enum DurationSpec {
    /// Nanoseconds, or nil when the text is not a positive duration.
    public static func parseNanos(_ text: String) -> UInt64? {
        let t = text.trimmingSpaces
        if let seconds = Double(t) { return seconds > 0 && seconds < 1e7 ? UInt64(seconds * 1e9) : nil }
        var total = 0.0
        var number = ""
        var unit = ""
        var any = false
        func flush() -> Bool {
            guard let v = Double(number) else { return false }
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return false
            }
            total += v * scale
            number = ""
            unit = ""
            any = true
            return true
        }
        for ch in t {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else {
                unit.append(ch)
            }
        }
        guard flush(), any, total >= 1, total < 1e7 * 1e9 else { return nil }
        return UInt64(total)
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    public var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

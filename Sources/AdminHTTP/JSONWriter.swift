import PipeperfBase

/// A small JSON writer for summaries and status documents (the component binaries stay off Foundation).
public struct JSONWriter {
    public private(set) var text = ""
    var needsComma: [Bool] = [false]

    public init() {}

    mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    mutating func key(_ k: String) {
        separator()
        text += JSONWriter.quote(k) + ":"
        needsComma[needsComma.count - 1] = false
    }

    public mutating func beginObject(_ k: String? = nil) {
        if let k { key(k) } else { separator() }
        text += "{"
        needsComma[needsComma.count - 1] = true
        needsComma.append(false)
    }

    public mutating func endObject() {
        needsComma.removeLast()
        text += "}"
    }

    /// Starts an array (a field of the enclosing object when `k` is given); elements are objects.
    public mutating func beginArray(_ k: String? = nil) {
        if let k { key(k) } else { separator() }
        text += "["
        needsComma[needsComma.count - 1] = true
        needsComma.append(false)
    }

    public mutating func endArray() {
        needsComma.removeLast()
        text += "]"
    }

    /// A list of strings.
    public mutating func field(_ k: String, _ v: [String]) {
        key(k)
        text += "[" + v.map(JSONWriter.quote).joined(separator: ",") + "]"
        needsComma[needsComma.count - 1] = true
    }

    public mutating func field(_ k: String, _ v: Int) {
        key(k); text += String(v); needsComma[needsComma.count - 1] = true
    }
    public mutating func field(_ k: String, _ v: UInt64) {
        key(k); text += String(v); needsComma[needsComma.count - 1] = true
    }
    public mutating func field(_ k: String, _ v: Bool) {
        key(k); text += v ? "true" : "false"; needsComma[needsComma.count - 1] = true
    }
    public mutating func field(_ k: String, _ v: String) {
        key(k); text += JSONWriter.quote(v); needsComma[needsComma.count - 1] = true
    }
    public mutating func fieldNull(_ k: String) { key(k); text += "null"; needsComma[needsComma.count - 1] = true }
    public mutating func field(_ k: String, _ v: Double, decimals: Int = 3) {
        key(k)
        text += v.isFinite ? formatFixed(v, decimals) : "null"
        needsComma[needsComma.count - 1] = true
    }

    /// A number as an array element.
    public mutating func value(_ v: Double, decimals: Int = 3) {
        separator()
        text += v.isFinite ? formatFixed(v, decimals) : "null"
        needsComma[needsComma.count - 1] = true
    }

    /// A string as an array element.
    public mutating func value(_ v: String) {
        separator()
        text += JSONWriter.quote(v)
        needsComma[needsComma.count - 1] = true
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

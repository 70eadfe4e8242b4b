// The `prometheus` monitoring strategy's parser: Prometheus text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats): `# TYPE name type` lines and
// `name{label="value",...} value [timestamp]` samples. Counters are kept as raw values here (the report
// turns them into rates across samples); include/exclude patterns use `*` wildcards on the name.

public struct PrometheusSample: Sendable, Equatable {
    public var name: String
    public var labels: [(String, String)]
    public var value: Double
    public var type: String

    public static func == (a: PrometheusSample, b: PrometheusSample) -> Bool {
        a.name == b.name && a.value == b.value && a.type == b.type && a.labels.elementsEqual(b.labels, by: { $0 == $1 })
    }

    /// `name{a="1",b="2"}`, the series key.
    public var series: String {
        labels.isEmpty ? name : name + "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
    }
}

public enum PrometheusText {
    /// Parses exposition text; malformed lines are skipped (a scrape must not fail on one odd line).
    public static func parse(_ text: String, include: [String] = [], exclude: [String] = []) -> [PrometheusSample] {
        var types: [String: String] = [:]
        var out: [PrometheusSample] = []
        for raw in text.split(separator: "\n") {
            let line = String(raw).trimmingSpaces
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 4, parts[1] == "TYPE" { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            guard let s = sample(line) else { continue }
            if !include.isEmpty && !include.contains(where: { matches(s.name, $0) }) { continue }
            if exclude.contains(where: { matches(s.name, $0) }) { continue }
            var withType = s
            // Histogram/summary parts carry their family's type.
            let family = types[s.name] ?? types[String(s.name.replacingSuffixes())] ?? "untyped"
            withType.type = family
            out.append(withType)
        }
        return out
    }

    static func sample(_ line: String) -> PrometheusSample? {
        var name = ""
        var labels: [(String, String)] = []
        var rest = Substring(line)
        if let brace = line.firstIndex(of: "{") {
            name = String(line[..<brace])
            guard let end = line.lastIndex(of: "}") else { return nil }
            labels = parseLabels(String(line[line.index(after: brace)..<end]))
            rest = line[line.index(after: end)...]
        } else {
            guard let sp = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
            name = String(line[..<sp])
            rest = line[sp...]
        }
        let values = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = values.first else { return nil }
        let v: Double
        switch first {
        case "+Inf": v = .infinity
        case "-Inf": v = -.infinity
        case "NaN": v = .nan
        default:
            guard let d = Double(first) else { return nil }
            v = d
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
            return nil
        }
        return PrometheusSample(name: name, labels: labels, value: v, type: "untyped")
    }

    static func parseLabels(_ text: String) -> [(String, String)] {
        var out: [(String, String)] = []
        var i = text.startIndex
        while i < text.endIndex {
            guard let eq = text[i...].firstIndex(of: "=") else { break }
            let key = String(text[i..<eq]).trimmingSpaces.trimmingCharactersComma
            var j = text.index(after: eq)
            guard j < text.endIndex, text[j] == "\"" else { break }
            j = text.index(after: j)
            var value = ""
            while j < text.endIndex && text[j] != "\"" {
                if text[j] == "\\", text.index(after: j) < text.endIndex {
                    j = text.index(after: j)
                    value.append(text[j] == "n" ? "\n" : text[j])
                } else {
                    value.append(text[j])
                }
                j = text.index(after: j)
            }
            out.append((key, value))
            i = j < text.endIndex ? text.index(after: j) : j
        }
        return out
    }

    /// `*` matches any run of characters.
    public static func matches(_ name: String, _ pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { return name == pattern }
        guard name.hasPrefix(parts[0]) else { return false }
        var rest = Substring(name.dropFirst(parts[0].count))
        for (k, p) in parts.dropFirst().enumerated() {
            if k == parts.count - 2 { return p.isEmpty || rest.hasSuffix(p) }
            guard let r = rest.range(of: p) else { return false }
            rest = rest[r.upperBound...]
        }
        return true
    }
}

extension String {
    /// A histogram/summary sample's family name (`x_bucket`, `x_sum`, `x_count` → `x`).
    func replacingSuffixes() -> Substring {
        for s in ["_bucket", "_sum", "_count"] where hasSuffix(s) { return dropLast(s.count) }
        return Substring(self)
    }

    var trimmingCharactersComma: String {
        var s = Substring(self)
        while s.first == "," || s.first == " " { s = s.dropFirst() }
        return String(s)
    }
}

// Reading a YAML mapping against its documented keys: unknown keys are rejected with a "did you
// mean", wrong types and bad values are reported with their location, and `{{ … }}` in values is
// rendered with the suite variables (strictly: a missing variable is an error at that value).

import PipeperfBase

/// One documented key of a config object (the suite reference and `pipeperf strategies` are built
/// from these, and a test checks docs/suites.md against them).
public struct KeySpec: Sendable {
    public let name: String
    public let type: String
    public let required: Bool
    public let defaultValue: String?
    public let doc: String
    public init(
        _ name: String, _ type: String, required: Bool = false, default defaultValue: String? = nil, _ doc: String
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// The context of a read: diagnostics and the variables for `{{ … }}`.
final class ReadContext {
    let diags: Diagnostics
    var variables: [String: TemplateValue]
    let baseDirectory: String
    /// The suite's component mappings (name, key location, node), read again per matrix expansion.
    var componentNodes: [(String, SourceLocation, YNode)]? = nil
    init(diags: Diagnostics, variables: [String: TemplateValue], baseDirectory: String) {
        self.diags = diags
        self.variables = variables
        self.baseDirectory = baseDirectory
    }
}

/// A mapping being read.
struct ObjectReader {
    let node: YNode
    let path: String
    let context: ReadContext
    let pairs: [(key: String, keyLocation: SourceLocation, value: YNode)]

    /// Checks that `node` is a mapping with only `keys` (and every required one); nil when not a mapping.
    init?(_ node: YNode, path: String, keys: [KeySpec], context: ReadContext, what: String) {
        guard case .map(let pairs, _) = node else {
            context.diags.add(node.location, path, "expected \(what) (a mapping), found \(node.kind)")
            return nil
        }
        self.node = node
        self.path = path
        self.context = context
        self.pairs = pairs
        let names = keys.map(\.name)
        for p in pairs where !names.contains(p.key) {
            context.diags.add(
                p.keyLocation, sub(p.key),
                "unknown key '\(p.key)' in \(what)\(didYouMean(p.key, among: names)); valid keys: \(names.joined(separator: ", "))"
            )
        }
        for k in keys where k.required && !pairs.contains(where: { $0.key == k.name }) {
            context.diags.add(node.location, path, "missing required key '\(k.name)' in \(what)")
        }
    }

    func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func value(_ key: String) -> YNode? {
        guard let v = pairs.first(where: { $0.key == key })?.value else { return nil }
        if case .null = v { return nil }
        return v
    }

    func location(_ key: String) -> SourceLocation {
        pairs.first(where: { $0.key == key })?.value.location ?? node.location
    }

    /// A scalar rendered with the variables.
    func string(_ key: String) -> String? {
        guard let v = value(key) else { return nil }
        return scalar(v, path: sub(key))
    }

    func scalar(_ v: YNode, path: String) -> String? {
        guard case .scalar(let text, let loc, _) = v else {
            context.diags.add(v.location, path, "expected a single value, found \(v.kind)")
            return nil
        }
        return render(text, loc, path)
    }

    func render(_ text: String, _ loc: SourceLocation, _ path: String) -> String? {
        guard Template.isTemplate(text) else { return text }
        do {
            return try Template(text).render(context.variables)
        } catch {
            // The template's line/column are relative to the value; place them in the file.
            let at = SourceLocation(
                file: loc.file, line: loc.line + error.line - 1,
                column: error.line == 1 ? loc.column + error.column - 1 : error.column)
            context.diags.add(at, path, error.message)
            return nil
        }
    }

    func bool(_ key: String) -> Bool? {
        guard let s = string(key) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            context.diags.add(location(key), sub(key), "expected true or false, found '\(s)'")
            return nil
        }
    }

    func int(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let s = string(key) else { return nil }
        guard let n = Int(s), range.contains(n) else {
            context.diags.add(
                location(key), sub(key),
                "expected a whole number from \(range.lowerBound) to \(range.upperBound), found '\(s)'")
            return nil
        }
        return n
    }

    /// A duration such as 30s, 500ms, 2m, 1m30s; 0 allowed when `allowZero`.
    func duration(_ key: String, allowZero: Bool = true) -> UInt64? {
        guard let s = string(key) else { return nil }
        if allowZero, s.trimmingSpaces == "0" || s.trimmingSpaces == "0s" { return 0 }
        guard let n = DurationSpec.parseNanos(s) else {
            context.diags.add(
                location(key), sub(key), "expected a duration such as 500ms, 30s, 2m or 1m30s, found '\(s)'")
            return nil
        }
        return n
    }

    /// An http:// URL (an empty value is left to the required-key check).
    func url(_ key: String) -> HTTPURL? {
        guard let s = string(key), !s.isEmpty else { return nil }
        guard let u = HTTPURL(s) else {
            context.diags.add(
                location(key), sub(key), "expected an http:// URL such as http://127.0.0.1:8081/healthz, found '\(s)'")
            return nil
        }
        return u
    }

    /// A list of scalars (a single scalar counts as a one-item list only when `single` is true).
    func stringList(_ key: String, single: Bool = false) -> [String]? {
        guard let v = value(key) else { return nil }
        switch v {
        case .list(let items, _):
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard let s = scalar(item, path: "\(sub(key))[\(i)]") else { continue }
                out.append(s)
            }
            return out
        case .scalar where single:
            return scalar(v, path: sub(key)).map { [$0] }
        default:
            context.diags.add(v.location, sub(key), "expected a list, found \(v.kind)")
            return nil
        }
    }

    /// The items of a list of any nodes (nil, with the problem reported, when it is not a list).
    func list(_ key: String, what: String) -> [YNode]? {
        guard let v = value(key) else { return nil }
        guard case .list(let items, _) = v else {
            context.diags.add(v.location, sub(key), "expected a list of \(what), found \(v.kind)")
            return nil
        }
        return items
    }

    /// A mapping of scalar values (environment, headers, options).
    func stringMap(_ key: String) -> [(String, String)]? {
        guard let v = value(key) else { return nil }
        guard case .map(let pairs, _) = v else {
            context.diags.add(v.location, sub(key), "expected a mapping, found \(v.kind)")
            return nil
        }
        var out: [(String, String)] = []
        for p in pairs {
            if case .list(let items, _) = p.value {
                // A list value (repeatable option) is kept as its items joined by newlines.
                let parts = items.enumerated().compactMap {
                    scalar($0.element, path: "\(sub(key)).\(p.key)[\($0.offset)]")
                }
                out.append((p.key, parts.joined(separator: "\n")))
            } else if case .null = p.value {
                out.append((p.key, ""))
            } else if let s = scalar(p.value, path: "\(sub(key)).\(p.key)") {
                out.append((p.key, s))
            }
        }
        return out
    }

    /// A mapping with exactly one key naming a strategy; returns the name and its options node.
    func strategy(
        _ key: String, kinds: [String], what: String
    ) -> (name: String, options: YNode, location: SourceLocation)? {
        guard let v = value(key) else { return nil }
        return ObjectReader.choose(v, path: sub(key), kinds: kinds, what: what, context: context)
    }

    static func choose(
        _ v: YNode, path: String, kinds: [String], what: String, context: ReadContext
    ) -> (name: String, options: YNode, location: SourceLocation)? {
        guard case .map(let pairs, let loc) = v, pairs.count == 1 else {
            context.diags.add(
                v.location, path,
                "expected exactly one \(what) key (one of: \(kinds.joined(separator: ", "))), found \(v.kind == "a mapping" ? "\(mapCount(v)) keys" : v.kind)"
            )
            return nil
        }
        let p = pairs[0]
        guard kinds.contains(p.key) else {
            context.diags.add(
                p.keyLocation, path,
                "unknown \(what) '\(p.key)'\(didYouMean(p.key, among: kinds)); valid: \(kinds.joined(separator: ", "))")
            return nil
        }
        var options = p.value
        if case .null(let l) = options { options = .map([], l) }
        return (p.key, options, loc)
    }

    static func mapCount(_ v: YNode) -> Int {
        if case .map(let p, _) = v { return p.count }
        return 0
    }
}

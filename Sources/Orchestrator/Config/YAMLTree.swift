// The suite's YAML as a plain tree that remembers where every node came from (Yams composes it; the
// rest of the orchestrator never sees Yams). Duplicate keys are an error, not "last one wins".

import Yams

/// A YAML node with its location.
public indirect enum YNode: Sendable {
    case scalar(String, SourceLocation, plain: Bool)
    case map([(key: String, keyLocation: SourceLocation, value: YNode)], SourceLocation)
    case list([YNode], SourceLocation)
    case null(SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .scalar(_, let l, _), .map(_, let l), .list(_, let l), .null(let l): return l
        }
    }

    /// What kind of node, for messages ("a mapping", "a list", "a string", "nothing").
    public var kind: String {
        switch self {
        case .scalar: return "a scalar"
        case .map: return "a mapping"
        case .list: return "a list"
        case .null: return "nothing"
        }
    }

    /// Parses YAML text from `file` into a tree; syntax errors and duplicate keys name their location.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> YNode {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw ConfigError(yamlLocation(e, file: file), "", "YAML syntax error: \(yamlProblem(e))")
        } catch {
            throw ConfigError(SourceLocation(file: file, line: 1, column: 1), "", "cannot read YAML: \(error)")
        }
        guard let node else { return .null(SourceLocation(file: file, line: 1, column: 1)) }
        return try convert(node, file: file, path: "")
    }

    static func loc(_ mark: Mark?, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    static func convert(_ node: Node, file: String, path: String) throws(ConfigError) -> YNode {
        switch node {
        case .scalar(let s):
            if s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) {
                return .null(loc(s.mark, file))
            }
            return .scalar(s.string, loc(s.mark, file), plain: s.style == .plain)
        case .mapping(let m):
            var pairs: [(key: String, keyLocation: SourceLocation, value: YNode)] = []
            var seen: [String: SourceLocation] = [:]
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw ConfigError(
                        loc(k.mark, file), path,
                        "keys must be plain names, not \(k.mapping != nil ? "mappings" : "lists")")
                }
                let keyLoc = loc(ks.mark, file)
                let sub = path.isEmpty ? ks.string : "\(path).\(ks.string)"
                if let first = seen[ks.string] {
                    throw ConfigError(keyLoc, sub, "duplicate key (first at line \(first.line))")
                }
                seen[ks.string] = keyLoc
                pairs.append((ks.string, keyLoc, try convert(v, file: file, path: sub)))
            }
            return .map(pairs, loc(m.mark, file))
        case .sequence(let s):
            var items: [YNode] = []
            for (i, v) in s.enumerated() { items.append(try convert(v, file: file, path: "\(path)[\(i)]")) }
            return .list(items, loc(s.mark, file))
        case .alias(let a):
            throw ConfigError(
                loc(a.mark, file), path, "YAML aliases are not supported in suites; use variables or templates")
        }
    }

    static func yamlLocation(_ e: YamlError, file: String) -> SourceLocation {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _):
            return SourceLocation(file: file, line: mark.line, column: mark.column)
        default: return SourceLocation(file: file, line: 1, column: 1)
        }
    }

    static func yamlProblem(_ e: YamlError) -> String {
        switch e {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _):
            if let c = context { return "\(problem) (\(c.text))" }
            return problem
        default:
            // Yams's own checks (e.g. duplicate keys) carry the whole document after the first line.
            return String("\(e)".split(separator: "\n").first ?? "")
        }
    }
}

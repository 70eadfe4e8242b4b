// A small Jinja-like template language, strict where Jinja is lenient: a missing variable is an error
// naming it and its line, never an empty string. Used for `{{ … }}` in suite values and for component
// config files (`configuration: template:`).
//
//   {{ name }}  {{ a.b }}  {{ name | default("x") }}  {{ items | join(",") }}  {{ name | upper }}
//   {% if flag %}…{% elif other %}…{% else %}…{% endif %}   (truthy: non-empty, not "false"/"0")
//   {% for x in list %}…{{ loop.index }}…{% endfor %}
//   {# comment #}
//
// Filters: default(value), upper, lower, int, json (a JSON string literal), join(sep), length.

import PipeperfBase
import AdminHTTP

/// A template value: text, a list or a mapping (from suite variables).
public indirect enum TemplateValue: Sendable, Equatable {
    case text(String)
    case list([TemplateValue])
    case map([String: TemplateValue])

    public var rendered: String {
        switch self {
        case .text(let s): return s
        case .list(let l): return l.map(\.rendered).joined(separator: ",")
        case .map(let m): return "{" + m.keys.sorted().map { "\($0): \(m[$0]!.rendered)" }.joined(separator: ", ") + "}"
        }
    }

    var truthy: Bool {
        switch self {
        case .text(let s): return !(s.isEmpty || s == "false" || s == "False" || s == "0" || s == "no")
        case .list(let l): return !l.isEmpty
        case .map(let m): return !m.isEmpty
        }
    }
}

/// A template problem, with the 1-based line and column inside the template text.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A parsed template.
public struct Template: Sendable {
    indirect enum Node: Sendable {
        case text(String)
        case expression(Expression, line: Int, column: Int)
        case conditional([(Expression, [Node])], otherwise: [Node], line: Int, column: Int)
        case loop(variable: String, over: Expression, body: [Node], line: Int, column: Int)
    }

    struct Expression: Sendable {
        var path: [String]
        var filters: [(name: String, argument: String?)]
        var text: String
    }

    let nodes: [Node]

    /// Parses `text`; syntax errors name their line and column.
    public init(_ text: String) throws(TemplateError) {
        var parser = Parser(Array(text))
        nodes = try parser.parseBody(until: [])
        guard parser.isAtEnd else { throw parser.error("unexpected {% \(parser.pendingTag ?? "") %}") }
    }

    /// Whether `text` contains template syntax at all (plain text renders as itself).
    public static func isTemplate(_ text: String) -> Bool {
        text.contains("{{") || text.contains("{%") || text.contains("{#")
    }

    /// Renders with `variables`; a missing variable is an error.
    public func render(_ variables: [String: TemplateValue]) throws(TemplateError) -> String {
        var out = ""
        try Template.render(nodes, [variables], into: &out)
        return out
    }

    static func render(
        _ nodes: [Node], _ scopes: [[String: TemplateValue]], into out: inout String
    ) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .expression(let e, let line, let column):
                out += try evaluate(e, scopes, line, column).rendered
            case .conditional(let branches, let otherwise, let line, let column):
                var done = false
                for (condition, body) in branches where !done {
                    // Strict like every other use: an undefined variable is an error, not false (write
                    // `{% if x | default("") %}` for an optional one).
                    if try evaluate(condition, scopes, line, column).truthy {
                        try render(body, scopes, into: &out)
                        done = true
                    }
                }
                if !done { try render(otherwise, scopes, into: &out) }
            case .loop(let variable, let over, let body, let line, let column):
                let value = try evaluate(over, scopes, line, column)
                let items: [TemplateValue]
                switch value {
                case .list(let l): items = l
                case .map(let m): items = m.keys.sorted().map { .text($0) }
                case .text(let t):
                    items = t.isEmpty ? [] : t.split(separator: ",").map { .text(String($0).trimmingSpaces) }
                }
                for (i, item) in items.enumerated() {
                    let loop: TemplateValue = .map([
                        "index": .text(String(i + 1)), "index0": .text(String(i)),
                        "first": .text(i == 0 ? "true" : "false"),
                        "last": .text(i == items.count - 1 ? "true" : "false"),
                    ])
                    try render(body, scopes + [[variable: item, "loop": loop]], into: &out)
                }
            }
        }
    }

    /// A variable path's value, or nil when absent.
    static func lookup(_ path: [String], _ scopes: [[String: TemplateValue]]) -> TemplateValue? {
        guard let first = path.first else { return nil }
        var value: TemplateValue? = nil
        for scope in scopes.reversed() { if let v = scope[first] { value = v; break } }
        for key in path.dropFirst() {
            guard case .map(let m)? = value else { return nil }
            value = m[key]
        }
        return value
    }

    static func evaluateOptional(
        _ e: Expression, _ scopes: [[String: TemplateValue]], _ line: Int, _ column: Int
    ) throws(TemplateError) -> TemplateValue? {
        var value = lookup(e.path, scopes)
        for f in e.filters {
            switch f.name {
            case "default":
                if value == nil { value = .text(unquote(f.argument ?? "")) }
            case "upper": value = value.map { .text($0.rendered.uppercased()) }
            case "lower": value = value.map { .text($0.rendered.lowercased()) }
            case "length":
                if let v = value {
                    switch v {
                    case .list(let l): value = .text(String(l.count))
                    case .map(let m): value = .text(String(m.count))
                    case .text(let t): value = .text(String(t.count))
                    }
                }
            case "int":
                if let v = value {
                    guard let d = Double(v.rendered) else {
                        throw TemplateError(
                            line: line, column: column,
                            message: "'\(v.rendered)' is not a number (filter int in {{ \(e.text) }})")
                    }
                    value = .text(String(Int(d)))
                }
            case "json": value = value.map { .text(JSONWriter.quote($0.rendered)) }
            case "join":
                if let v = value, case .list(let l) = v {
                    value = .text(l.map(\.rendered).joined(separator: unquote(f.argument ?? ",")))
                }
            default:
                throw TemplateError(
                    line: line, column: column,
                    message:
                        "unknown filter '\(f.name)'\(didYouMean(f.name, among: ["default", "upper", "lower", "int", "json", "join", "length"]))"
                )
            }
        }
        return value
    }

    static func evaluate(
        _ e: Expression, _ scopes: [[String: TemplateValue]], _ line: Int, _ column: Int
    ) throws(TemplateError) -> TemplateValue {
        guard let v = try evaluateOptional(e, scopes, line, column) else {
            let known = scopes.flatMap { $0.keys }
            throw TemplateError(
                line: line, column: column,
                message:
                    "undefined variable '\(e.path.joined(separator: "."))'\(didYouMean(e.path.first ?? "", among: known))"
            )
        }
        return v
    }

    static func unquote(_ s: String) -> String {
        let t = s.trimmingSpaces
        if t.count >= 2, let f = t.first, f == t.last, f == "\"" || f == "'" { return String(t.dropFirst().dropLast()) }
        return t
    }

    // MARK: Parsing

    struct Parser {
        let chars: [Character]
        var i = 0
        var line = 1
        var column = 1
        var pendingTag: String? = nil
        var pendingLine = 1
        var pendingColumn = 1

        init(_ chars: [Character]) { self.chars = chars }

        var isAtEnd: Bool { i >= chars.count && pendingTag == nil }

        func error(_ message: String) -> TemplateError {
            TemplateError(line: pendingLine, column: pendingColumn, message: message)
        }

        mutating func advance(_ n: Int = 1) {
            for _ in 0..<n where i < chars.count {
                if chars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
                i += 1
            }
        }

        func starts(_ s: String) -> Bool {
            let a = Array(s)
            guard i + a.count <= chars.count else { return false }
            for k in 0..<a.count where chars[i + k] != a[k] { return false }
            return true
        }

        /// Reads up to the closing delimiter; returns the inner text.
        mutating func delimited(_ close: String, what: String) throws(TemplateError) -> String {
            let startLine = line, startColumn = column
            advance(2)
            var inner = ""
            while i < chars.count && !starts(close) {
                inner.append(chars[i])
                advance()
            }
            guard i < chars.count else {
                throw TemplateError(
                    line: startLine, column: startColumn, message: "\(what) is not closed with '\(close)'")
            }
            advance(2)
            return inner
        }

        /// Nodes until one of the `until` tags (left in `pendingTag`) or the end.
        mutating func parseBody(until: [String]) throws(TemplateError) -> [Node] {
            var nodes: [Node] = []
            var text = ""
            while i < chars.count {
                if starts("{{") {
                    if !text.isEmpty { nodes.append(.text(text)); text = "" }
                    let l = line, c = column
                    let inner = try delimited("}}", what: "{{")
                    nodes.append(.expression(try Parser.expression(inner, l, c), line: l, column: c))
                } else if starts("{#") {
                    _ = try delimited("#}", what: "{#")
                } else if starts("{%") {
                    if !text.isEmpty { nodes.append(.text(text)); text = "" }
                    let l = line, c = column
                    let inner = try delimited("%}", what: "{%").trimmingSpaces
                    let word = String(inner.prefix { $0 != " " })
                    if until.contains(word) {
                        pendingTag = inner
                        pendingLine = l
                        pendingColumn = c
                        return nodes
                    }
                    switch word {
                    case "if":
                        nodes.append(try parseIf(String(inner.dropFirst(2)), l, c))
                    case "for":
                        let parts = inner.split(separator: " ", omittingEmptySubsequences: true)
                        guard parts.count == 4, parts[2] == "in" else {
                            throw TemplateError(
                                line: l, column: c, message: "expected {% for NAME in EXPRESSION %}, got {% \(inner) %}"
                            )
                        }
                        let over = try Parser.expression(String(parts[3]), l, c)
                        let body = try parseBody(until: ["endfor"])
                        guard pendingTag == "endfor" else {
                            throw TemplateError(line: l, column: c, message: "{% for %} without {% endfor %}")
                        }
                        pendingTag = nil
                        nodes.append(.loop(variable: String(parts[1]), over: over, body: body, line: l, column: c))
                    default:
                        throw TemplateError(
                            line: l, column: c,
                            message: "unknown tag {% \(word) %}; tags are if, elif, else, endif, for, endfor")
                    }
                } else {
                    text.append(chars[i])
                    advance()
                }
            }
            if !text.isEmpty { nodes.append(.text(text)) }
            return nodes
        }

        mutating func parseIf(_ condition: String, _ l: Int, _ c: Int) throws(TemplateError) -> Node {
            var branches: [(Expression, [Node])] = []
            var current = try Parser.expression(condition, l, c)
            var otherwise: [Node] = []
            while true {
                let body = try parseBody(until: ["elif", "else", "endif"])
                guard let tag = pendingTag else {
                    throw TemplateError(line: l, column: c, message: "{% if %} without {% endif %}")
                }
                pendingTag = nil
                branches.append((current, body))
                if tag.hasPrefix("elif") {
                    current = try Parser.expression(String(tag.dropFirst(4)), pendingLine, pendingColumn)
                    continue
                }
                if tag == "else" {
                    otherwise = try parseBody(until: ["endif"])
                    guard pendingTag == "endif" else {
                        throw TemplateError(line: l, column: c, message: "{% if %} without {% endif %}")
                    }
                    pendingTag = nil
                }
                return .conditional(branches, otherwise: otherwise, line: l, column: c)
            }
        }

        static func expression(_ text: String, _ l: Int, _ c: Int) throws(TemplateError) -> Expression {
            let parts = splitFilters(text)
            let head = parts[0].trimmingSpaces
            guard !head.isEmpty, head.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw TemplateError(
                    line: l, column: c, message: "expected a variable name in {{ \(text.trimmingSpaces) }}")
            }
            var filters: [(name: String, argument: String?)] = []
            for f in parts.dropFirst() {
                let t = f.trimmingSpaces
                if let open = t.firstIndex(of: "("), t.hasSuffix(")") {
                    filters.append(
                        (
                            String(t[..<open]).trimmingSpaces,
                            String(t[t.index(after: open)..<t.index(before: t.endIndex)])
                        ))
                } else {
                    filters.append((t, nil))
                }
            }
            return Expression(
                path: head.split(separator: ".").map(String.init), filters: filters, text: text.trimmingSpaces)
        }

        /// Splits on `|` outside quotes.
        static func splitFilters(_ text: String) -> [String] {
            var parts: [String] = []
            var cur = ""
            var quote: Character? = nil
            for ch in text {
                if let q = quote {
                    if ch == q { quote = nil }
                    cur.append(ch)
                } else if ch == "\"" || ch == "'" {
                    quote = ch
                    cur.append(ch)
                } else if ch == "|" {
                    parts.append(cur)
                    cur = ""
                } else {
                    cur.append(ch)
                }
            }
            parts.append(cur)
            return parts
        }
    }
}

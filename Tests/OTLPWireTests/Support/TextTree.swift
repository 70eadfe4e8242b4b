import Foundation
import OTLPWire
import TestSupport

/// A protobuf text-format tree, as printed by `protoc --decode`, with values kept semantically:
/// strings and bytes as bytes, numbers as text compared numerically, enums by name.
indirect enum TextValue: Equatable, CustomStringConvertible {
    case bytes([UInt8])
    case number(String)
    case name(String)  // enum names, true/false
    case message([TextField])

    static func == (a: TextValue, b: TextValue) -> Bool {
        switch (a, b) {
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.name(let x), .name(let y)): return x == y
        case (.message(let x), .message(let y)): return x == y
        case (.number(let x), .number(let y)):
            if x == y { return true }
            if let dx = Double(x), let dy = Double(y) { return dx == dy || (dx.isNaN && dy.isNaN) }
            return false
        default: return false
        }
    }

    var description: String {
        switch self {
        case .bytes(let b): return "\"" + String(decoding: b, as: UTF8.self) + "\""
        case .number(let n): return n
        case .name(let n): return n
        case .message(let fields): return "{" + fields.map(\.description).joined(separator: " ") + "}"
        }
    }
}

struct TextField: Equatable, CustomStringConvertible {
    var name: String
    var value: TextValue
    var description: String { "\(name): \(value)" }
}

enum TextTreeError: Error { case syntax(String) }

/// Parses protoc's text output.
struct TextTreeParser {
    let s: [UInt8]
    var i = 0

    init(_ text: String) { s = Array(text.utf8) }

    static func parse(_ text: String) throws -> [TextField] {
        var p = TextTreeParser(text)
        let fields = try p.fields()
        p.skipSpace()
        guard p.i == p.s.count else { throw TextTreeError.syntax("trailing text at \(p.i)") }
        return fields
    }

    mutating func skipSpace() {
        while i < s.count, s[i] == 32 || s[i] == 10 || s[i] == 9 || s[i] == 13 { i += 1 }
    }

    mutating func fields() throws -> [TextField] {
        var out: [TextField] = []
        while true {
            skipSpace()
            if i >= s.count || s[i] == UInt8(ascii: "}") { return out }
            let start = i
            while i < s.count, s[i] != UInt8(ascii: ":"), s[i] != 32, s[i] != UInt8(ascii: "{") { i += 1 }
            let name = String(decoding: s[start..<i], as: UTF8.self)
            skipSpace()
            if i < s.count, s[i] == UInt8(ascii: ":") {
                i += 1
                skipSpace()
                out.append(TextField(name: name, value: try scalar()))
            } else if i < s.count, s[i] == UInt8(ascii: "{") {
                i += 1
                let inner = try fields()
                skipSpace()
                guard i < s.count, s[i] == UInt8(ascii: "}") else { throw TextTreeError.syntax("missing } at \(i)") }
                i += 1
                out.append(TextField(name: name, value: .message(inner)))
            } else {
                throw TextTreeError.syntax("unexpected text after \(name) at \(i)")
            }
        }
    }

    mutating func scalar() throws -> TextValue {
        if s[i] == UInt8(ascii: "\"") {
            i += 1
            var out: [UInt8] = []
            while i < s.count, s[i] != UInt8(ascii: "\"") {
                if s[i] == UInt8(ascii: "\\") {
                    i += 1
                    let c = s[i]
                    switch c {
                    case UInt8(ascii: "n"): out.append(10); i += 1
                    case UInt8(ascii: "r"): out.append(13); i += 1
                    case UInt8(ascii: "t"): out.append(9); i += 1
                    case UInt8(ascii: "0")...UInt8(ascii: "7"):
                        var v = 0
                        var k = 0
                        while k < 3, i < s.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(s[i]) {
                            v = v * 8 + Int(s[i] - UInt8(ascii: "0"))
                            i += 1
                            k += 1
                        }
                        out.append(UInt8(v))
                    case UInt8(ascii: "x"):
                        i += 1
                        var v = 0
                        while i < s.count, let d = Int(String(UnicodeScalar(s[i])), radix: 16) {
                            v = v * 16 + d
                            i += 1
                        }
                        out.append(UInt8(v))
                    default: out.append(c); i += 1
                    }
                } else {
                    out.append(s[i])
                    i += 1
                }
            }
            i += 1
            return .bytes(out)
        }
        let start = i
        while i < s.count, s[i] != 10, s[i] != 32 { i += 1 }
        let token = String(decoding: s[start..<i], as: UTF8.self)
        if let f = token.unicodeScalars.first, f == "-" || ("0"..."9").contains(f) { return .number(token) }
        if token == "inf" || token == "-inf" || token == "nan" { return .number(token) }
        return .name(token)
    }
}

/// Runs `protoc --decode` over `message` with the schema in Fixtures/otlp.
enum Protoc {
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/otlp")
    }

    static func decode(_ signal: Signal, _ message: [UInt8]) throws -> String {
        let (type, file): (String, String) =
            switch signal {
            case .logs: ("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest", "collector_logs.proto")
            case .traces: ("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest", "collector_trace.proto")
            case .metrics:
                ("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest", "collector_metrics.proto")
            }
        let r = try runProcess(["protoc", "--decode=\(type)", "-I", fixtures.path, file], stdin: message)
        guard r.status == 0 else {
            throw TextTreeError.syntax("protoc failed (\(r.status)): \(r.err)")
        }
        return String(decoding: r.stdout, as: UTF8.self)
    }
}

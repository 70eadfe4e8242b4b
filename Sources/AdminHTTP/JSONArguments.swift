// Admin bodies that carry options as JSON use the same names as the command-line flags
// ({"rate": "100k", "no_tracking": true, "header": ["a=b"]}); they are turned into arguments and parsed
// by the command's own parser, so the JSON and the flags cannot drift apart.

import FoundationEssentials

/// A JSON scalar or list of option values.
enum OptionValue: Decodable {
    case string(String), number(Double), bool(Bool), list([String])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .list(try c.decode([String].self)) }
    }

    var text: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : String(d)
        case .list(let l): return l.joined(separator: ",")
        }
    }
}

/// A body that is not a JSON object of options.
public struct JSONArgumentsError: Error, CustomStringConvertible {
    public let description: String
}

/// Turns a JSON object of options into command-line arguments: `key` (underscores become dashes) →
/// `--key value`; `true` → `--key`; `false` is left out; a list repeats the flag. Keys come sorted.
public func jsonArguments(_ body: [UInt8], example: String) throws(JSONArgumentsError) -> [String] {
    if body.isEmpty { return [] }
    let object: [String: OptionValue]
    do { object = try JSONDecoder().decode([String: OptionValue].self, from: Data(body)) } catch {
        throw JSONArgumentsError(description: "the body must be a JSON object of options, e.g. \(example)")
    }
    var args: [String] = []
    for key in object.keys.sorted() {
        let flag = "--" + String(key.map { $0 == "_" ? "-" : $0 })
        switch object[key]! {
        case .bool(true): args.append(flag)
        case .bool(false): continue
        case .list(let values): for v in values { args += [flag, v] }
        case let v: args += [flag, v.text]
        }
    }
    return args
}

// Admin bodies that carry options as JSON use the same names as the command-line flags
// ({"rate": "100k", "no_tracking": true, "header": ["a=b"]}); they are turned into arguments and parsed
// by the command's own parser, so the JSON and the flags cannot drift apart.

/// An option value's text on the command line.
func optionText(_ v: JSON) -> String? {
    switch v {
    case .string(let s): return s
    case .bool(let b): return b ? "true" : "false"
    case .number(let d): return d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : String(d)
    default: return nil
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
    guard case .object(let object)? = JSON.parse(bytes: body) else {
        throw JSONArgumentsError(description: "the body must be a JSON object of options, e.g. \(example)")
    }
    var args: [String] = []
    for key in object.keys.sorted() {
        let flag = "--" + String(key.map { $0 == "_" ? "-" : $0 })
        switch object[key]! {
        case .bool(true): args.append(flag)
        case .bool(false): continue
        case .array(let values):
            for v in values {
                guard case .string(let s) = v else {
                    throw JSONArgumentsError(description: "option \(key): a list holds strings, e.g. [\"a=b\"]")
                }
                args += [flag, s]
            }
        case let v:
            guard let text = optionText(v) else {
                throw JSONArgumentsError(
                    description: "option \(key): expected a string, number, boolean or list of strings")
            }
            args += [flag, text]
        }
    }
    return args
}

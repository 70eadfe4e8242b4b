// Where a problem is and what it is: every config error names the file, line, column and key path,
// says what is wrong and, when a near name exists, what was probably meant.

/// A position in a suite file (1-based line and column).
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem with a suite.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation?
    /// The key path, e.g. `components.backend.deployment.process.command`.
    public var path: String
    public var message: String
    public init(_ location: SourceLocation?, _ path: String, _ message: String) {
        self.location = location
        self.path = path
        self.message = message
    }
    public var description: String {
        let at = location.map { "\($0): " } ?? ""
        return path.isEmpty ? "\(at)\(message)" : "\(at)\(path): \(message)"
    }
}

/// Every problem found, reported at once.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var problems: [ConfigProblem]
    public init(_ problems: [ConfigProblem]) { self.problems = problems }
    public init(_ location: SourceLocation?, _ path: String, _ message: String) {
        problems = [ConfigProblem(location, path, message)]
    }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Collects problems while a suite is read, so one pass reports them all.
public final class Diagnostics {
    public private(set) var problems: [ConfigProblem] = []
    public init() {}
    public func add(_ location: SourceLocation?, _ path: String, _ message: String) {
        problems.append(ConfigProblem(location, path, message))
    }
    public func add(_ error: ConfigError) { problems += error.problems }
    public var isEmpty: Bool { problems.isEmpty }
}

/// "did you mean 'x'?" for the closest name within a small edit distance, else "".
func didYouMean(_ word: String, among names: [String]) -> String {
    var best: (String, Int)? = nil
    for n in names {
        let d = editDistance(word.lowercased(), n.lowercased())
        if d <= Swift.max(2, word.count / 3), best == nil || d < best!.1 { best = (n, d) }
    }
    return best.map { "; did you mean '\($0.0)'?" } ?? ""
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

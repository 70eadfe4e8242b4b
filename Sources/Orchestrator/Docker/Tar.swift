// A tar archive (POSIX ustar) written in memory: the build context sent to the engine's /build.
// Directories, regular files and symbolic links; names up to 255 bytes (prefix + name fields).

import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

public struct TarWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func addDirectory(_ name: String, mode: Int = 0o755) throws(PipeperfError) {
        try header(name.hasSuffix("/") ? name : name + "/", size: 0, mode: mode, type: UInt8(ascii: "5"))
    }

    public mutating func addFile(_ name: String, _ content: [UInt8], mode: Int = 0o644) throws(PipeperfError) {
        try header(name, size: content.count, mode: mode, type: UInt8(ascii: "0"))
        bytes += content
        bytes += [UInt8](repeating: 0, count: (512 - content.count % 512) % 512)
    }

    public mutating func addSymlink(_ name: String, target: String) throws(PipeperfError) {
        try header(name, size: 0, mode: 0o777, type: UInt8(ascii: "2"), link: target)
    }

    /// The archive with its end (two zero blocks).
    public mutating func finish() -> [UInt8] {
        bytes += [UInt8](repeating: 0, count: 1024)
        return bytes
    }

    mutating func header(_ name: String, size: Int, mode: Int, type: UInt8, link: String = "") throws(PipeperfError) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: [UInt8], _ at: Int, _ width: Int) { for (k, b) in s.prefix(width).enumerated() { h[at + k] = b } }
        func octal(_ v: Int, _ at: Int, _ width: Int) {
            let digits = String(v, radix: 8)
            put(
                Array((String(repeating: "0", count: Swift.max(0, width - 1 - digits.count)) + digits).utf8), at,
                width - 1)
        }
        let n = Array(name.utf8)
        if n.count <= 100 {
            put(n, 0, 100)
        } else {
            // Split at a slash: prefix (≤ 155) / name (≤ 100).
            guard
                let cut = n.indices.filter({ n[$0] == UInt8(ascii: "/") && $0 <= 155 && n.count - $0 - 1 <= 100 }).last
            else {
                throw PipeperfError(.docker, "build context: the path \(name) is too long for a tar archive")
            }
            put(Array(n[(cut + 1)...]), 0, 100)
            put(Array(n[..<cut]), 345, 155)
        }
        guard link.utf8.count <= 100 else {
            throw PipeperfError(.docker, "build context: the link target of \(name) is too long")
        }
        octal(mode, 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(size, 124, 12)
        octal(0, 136, 12)
        h[156] = type
        put(Array(link.utf8), 157, 100)
        put(Array("ustar\u{0}00".utf8), 257, 8)
        for k in 148..<156 { h[k] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        octal(sum, 148, 7)
        h[154] = 0
        h[155] = 0x20
        bytes += h
    }

    /// A folder's tree (directories, files, links) under `prefix` in the archive.
    public mutating func addTree(_ directory: String, prefix: String = "") throws(PipeperfError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw PipeperfError(.docker, "build context: cannot read \(directory)")
        }
        for name in names {
            let path = "\(directory)/\(name)"
            let inArchive = prefix.isEmpty ? name : "\(prefix)/\(name)"
            var st = stat()
            guard lstat(path, &st) == 0 else { throw PipeperfError(.docker, "build context: cannot read \(path)") }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try addDirectory(inArchive, mode: Int(st.st_mode & 0o7777))
                try addTree(path, prefix: inArchive)
            case S_IFLNK:
                var buf = [CChar](repeating: 0, count: 4096)
                let len = readlink(path, &buf, buf.count - 1)
                guard len > 0 else { throw PipeperfError(.docker, "build context: cannot read the link \(path)") }
                try addSymlink(inArchive, target: String(cString: buf))
            case S_IFREG:
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw PipeperfError(.docker, "build context: cannot read \(path)")
                }
                try addFile(inArchive, [UInt8](data), mode: Int(st.st_mode & 0o7777))
            default: continue
            }
        }
    }
}

import OTLPWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file could not be written; the message names the path and the system's reason.
public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Writes files without Foundation (the component binaries stay off it; see docs/loadgen.md).
public enum FileOutput {
    /// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a reader
    /// never sees a partial file.
    public static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws(FileError) {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: errnoText()) }
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errnoText()
                close(fd)
                unlink(tmp)
                throw FileError(path: path, reason: reason)
            }
            done += n
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let reason = errnoText()
            unlink(tmp)
            throw FileError(path: path, reason: reason)
        }
        guard rename(tmp, path) == 0 else {
            let reason = errnoText()
            unlink(tmp)
            throw FileError(path: path, reason: reason)
        }
    }

    /// Writes `text` as UTF-8, atomically.
    public static func writeAtomically(_ text: String, to path: String) throws(FileError) {
        let buffer = WireBuffer(capacity: text.utf8.count)
        var t = text
        t.withUTF8 { buffer.assign(UnsafeRawBufferPointer($0)) }
        try buffer.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(FileError) in try writeAtomically(b, to: path) }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

// Timestamps in the two syslog formats, written into fixed-width fields without Foundation:
// RFC 5424 §6.2.3 (an RFC 3339 UTC time with microseconds, 27 bytes) and RFC 3164 §4.1.2
// ("Mmm dd hh:mm:ss", 15 bytes, day padded with a space).

/// A UTC civil time broken down from Unix nanoseconds.
public struct CivilTime: Sendable, Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int

    /// Breaks `unixNanos` down (proleptic Gregorian calendar; days-from-civil inverse by H. Hinnant).
    public init(unixNanos: UInt64) {
        let seconds = Int(unixNanos / 1_000_000_000)
        microsecond = Int(unixNanos % 1_000_000_000) / 1000
        let days = seconds / 86_400
        let rem = seconds % 86_400
        hour = rem / 3600
        minute = rem % 3600 / 60
        second = rem % 60
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}

public enum SyslogTime {
    /// Bytes of an RFC 5424 timestamp as written here: `2026-11-24T23:17:51.123456Z`.
    public static let rfc5424Width = 27
    /// Bytes of an RFC 3164 timestamp: `Nov 24 23:17:51`.
    public static let rfc3164Width = 15

    /// Writes the RFC 5424 timestamp of `unixNanos` at `p` (27 bytes).
    public static func storeRFC5424(_ p: UnsafeMutableRawPointer, unixNanos: UInt64) {
        let t = CivilTime(unixNanos: unixNanos)
        digits(p, t.year, 4)
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 4, as: UInt8.self)
        digits(p + 5, t.month, 2)
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 7, as: UInt8.self)
        digits(p + 8, t.day, 2)
        p.storeBytes(of: UInt8(ascii: "T"), toByteOffset: 10, as: UInt8.self)
        clock(p + 11, t)
        p.storeBytes(of: UInt8(ascii: "."), toByteOffset: 19, as: UInt8.self)
        digits(p + 20, t.microsecond, 6)
        p.storeBytes(of: UInt8(ascii: "Z"), toByteOffset: 26, as: UInt8.self)
    }

    /// Writes the RFC 3164 timestamp of `unixNanos` at `p` (15 bytes).
    public static func storeRFC3164(_ p: UnsafeMutableRawPointer, unixNanos: UInt64) {
        let t = CivilTime(unixNanos: unixNanos)
        let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        p.copyMemory(from: months.utf8Start + (t.month - 1) * 3, byteCount: 3)
        p.storeBytes(of: UInt8(ascii: " "), toByteOffset: 3, as: UInt8.self)
        // RFC 3164 §4.1.2: a day below 10 is written with a leading space, not a zero.
        p.storeBytes(
            of: t.day < 10 ? UInt8(ascii: " ") : UInt8(ascii: "0") + UInt8(t.day / 10), toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: UInt8(ascii: "0") + UInt8(t.day % 10), toByteOffset: 5, as: UInt8.self)
        p.storeBytes(of: UInt8(ascii: " "), toByteOffset: 6, as: UInt8.self)
        clock(p + 7, t)
    }

    static func clock(_ p: UnsafeMutableRawPointer, _ t: CivilTime) {
        digits(p, t.hour, 2)
        p.storeBytes(of: UInt8(ascii: ":"), toByteOffset: 2, as: UInt8.self)
        digits(p + 3, t.minute, 2)
        p.storeBytes(of: UInt8(ascii: ":"), toByteOffset: 5, as: UInt8.self)
        digits(p + 6, t.second, 2)
    }

    /// Writes `value` as exactly `width` decimal digits, zero-padded (the value must fit).
    @inlinable
    public static func digits(_ p: UnsafeMutableRawPointer, _ value: Int, _ width: Int) {
        SyslogBatch.storeDecimal(p, UInt64(value), width: width)
    }
}

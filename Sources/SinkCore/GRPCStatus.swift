// Pieces of gRPC error responses: grpc-message percent-encoding, and the google.rpc.Status with a
// RetryInfo detail that OTLP exporters read to back off (opentelemetry-proto docs/specification.md,
// "OTLP/gRPC Throttling": RESOURCE_EXHAUSTED or UNAVAILABLE with RetryInfo.retry_delay).

import OTLPWire

/// grpc-message value: percent-encoded outside printable ASCII and '%' (grpc doc/PROTOCOL-HTTP2.md).
func percentEncodeGRPCMessage(_ message: String) -> String {
    var out = ""
    for b in message.utf8 {
        if b >= 0x20 && b <= 0x7E && b != UInt8(ascii: "%") {
            out.unicodeScalars.append(Unicode.Scalar(b))
        } else {
            let hex: [Character] = Array("0123456789ABCDEF")
            out += "%\(hex[Int(b >> 4)])\(hex[Int(b & 15)])"
        }
    }
    return out
}

/// google.rpc.Status { code, message, details: [Any(google.rpc.RetryInfo { retry_delay: seconds })] }.
func statusWithRetryInfo(code: Int, message: String, seconds: Int) -> [UInt8] {
    // google/protobuf/duration.proto: seconds = 1 (int64).
    let duration = ProtoSize.varintField(1, UInt64(seconds))
    // google/rpc/error_details.proto RetryInfo: retry_delay = 1.
    let retryInfo = ProtoSize.lengthDelimited(1, duration)
    let typeURL = "type.googleapis.com/google.rpc.RetryInfo"
    // google/protobuf/any.proto: type_url = 1, value = 2.
    let any = ProtoSize.lengthDelimited(1, typeURL.utf8.count) + ProtoSize.lengthDelimited(2, retryInfo)
    let buf = WireBuffer(capacity: 256)
    var w = ProtoWriter(appendingTo: buf, reserving: 256)
    // google/rpc/status.proto: code = 1, message = 2, details = 3.
    w.varintField(1, UInt64(code))
    w.stringField(2, message)
    w.lengthPrefix(field: 3, length: any)
    w.stringField(1, typeURL)
    w.lengthPrefix(field: 2, length: retryInfo)
    w.lengthPrefix(field: 1, length: duration)
    w.varintField(1, UInt64(seconds))
    w.finish()
    return buf.bytes
}

/// Standard base64 with padding (RFC 4648 §4), as gRPC's -bin headers carry.
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out = [UInt8]()
    var i = 0
    while i + 2 < bytes.count {
        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
        i += 3
    }
    let rest = bytes.count - i
    if rest == 1 {
        let n = UInt32(bytes[i]) << 16
        out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    } else if rest == 2 {
        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
        out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
    }
    return String(decoding: out, as: UTF8.self)
}

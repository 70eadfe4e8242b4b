// TLS for the load generator's clients (OpenSSL): TLS 1.2+, ALPN ("h2" for gRPC, "http/1.1" for
// OTLP/HTTP, none for syslog over TLS), certificate and host name verification
// unless told otherwise, optional client certificate. The only user of COpenSSL.

import COpenSSL

/// A TLS problem, with OpenSSL's own reason when it gave one.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }

    static func openssl(_ what: String) -> TLSError {
        let code = ERR_get_error()
        ERR_clear_error()
        if code == 0 { return TLSError(message: what) }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return TLSError(message: "\(what): \(String(cString: buf))")
    }
}

/// TLS settings of a client.
public struct TLSClientOptions: Sendable {
    /// PEM file of the certificate authorities to trust (default: the system's).
    public var caFile: String?
    /// Skip certificate and host name verification (testing only).
    public var insecureSkipVerify = false
    /// PEM client certificate and key, for mutual TLS.
    public var certFile: String?
    public var keyFile: String?
    /// Name to send in SNI and to verify the certificate against (default: the endpoint's host).
    public var serverName: String?
    /// The one application protocol to offer in ALPN (RFC 7301): "h2" (then required, since HTTP/2
    /// with prior knowledge over TLS needs it), "http/1.1" (offered; a server without ALPN is fine),
    /// or nil for none.
    public var alpn: String? = "h2"
    public init() {}
}

/// An SSL_CTX shared by the connections of one thread.
public final class TLSClientContext {
    let ctx: OpaquePointer
    public let options: TLSClientOptions

    public init(_ options: TLSClientOptions) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSError.openssl("cannot create a TLS context") }
        self.ctx = ctx
        self.options = options
        _ = copenssl_set_min_tls12(ctx)
        // ALPN: offer the one protocol (RFC 7301 wire format: length-prefixed protocol names).
        if let name = options.alpn {
            let alpn: [UInt8] = [UInt8(name.utf8.count)] + Array(name.utf8)
            guard SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count)) == 0 else {
                throw TLSError.openssl("cannot set ALPN")
            }
        }
        if options.insecureSkipVerify {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            if let ca = options.caFile {
                guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                    throw TLSError.openssl("cannot load CA file \(ca)")
                }
            } else {
                SSL_CTX_set_default_verify_paths(ctx)
            }
        }
        if let cert = options.certFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw TLSError.openssl("cannot load client certificate \(cert)")
            }
            guard let key = options.keyFile else { throw TLSError(message: "a client certificate needs its key file") }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.openssl("cannot load client key \(key)")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.openssl("client key does not match certificate \(cert)")
            }
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// An SSL_CTX for a server (the sinks' gRPC side): TLS 1.2+, ALPN h2 required, certificate and key
/// from PEM files.
public final class TLSServerContext: @unchecked Sendable {
    let ctx: OpaquePointer

    public init(certFile: String, keyFile: String) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.openssl("cannot create a TLS context") }
        self.ctx = ctx
        _ = copenssl_set_min_tls12(ctx)
        guard SSL_CTX_use_certificate_chain_file(ctx, certFile) == 1 else {
            throw TLSError.openssl("cannot load certificate \(certFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.openssl("cannot load key \(keyFile)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.openssl("key \(keyFile) does not match certificate \(certFile)")
        }
        copenssl_server_alpn_h2(ctx)
    }

    deinit { SSL_CTX_free(ctx) }
}

/// One TLS session over a connected non-blocking socket.
public final class TLSConnection {
    let ssl: OpaquePointer
    let requireH2: Bool

    /// Outcome of a handshake step, read or write that could not complete.
    public enum Want: Sendable { case read, write }

    public init(context: TLSClientContext, fd: Int32, host: String) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError.openssl("cannot create a TLS session") }
        self.ssl = ssl
        requireH2 = context.options.alpn == "h2"
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        _ = copenssl_set_partial_writes(ssl)
        let name = context.options.serverName ?? host
        // SNI only for names, not IP literals (RFC 6066 §3).
        if !name.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) { _ = copenssl_set_sni(ssl, name) }
        if !context.options.insecureSkipVerify {
            let ok =
                name.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" })
                ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) : SSL_set1_host(ssl, name)
            guard ok == 1 else { throw TLSError.openssl("cannot set the name to verify (\(name))") }
        }
    }

    /// A server-side session on an accepted socket.
    public init(server context: TLSServerContext, fd: Int32) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError.openssl("cannot create a TLS session") }
        self.ssl = ssl
        requireH2 = true
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        _ = copenssl_set_partial_writes(ssl)
    }

    deinit { SSL_free(ssl) }

    /// Advances the handshake: nil when done, or what the socket must become before calling again.
    public func handshake() throws(TLSError) -> Want? {
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            if requireH2 {
                var proto: UnsafePointer<UInt8>?
                var len: UInt32 = 0
                SSL_get0_alpn_selected(ssl, &proto, &len)
                guard len == 2, let proto, proto[0] == UInt8(ascii: "h"), proto[1] == UInt8(ascii: "2") else {
                    throw TLSError(message: "the server did not agree to HTTP/2 (ALPN h2)")
                }
            }
            return nil
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .read
        case SSL_ERROR_WANT_WRITE: return .write
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                ERR_clear_error()
                throw TLSError(
                    message:
                        "TLS handshake failed: certificate verification: \(String(cString: X509_verify_cert_error_string(verify)))"
                )
            }
            throw TLSError.openssl("TLS handshake failed")
        }
    }

    /// Reads decrypted bytes: count, 0 at end of stream, -1 when more socket input is needed.
    public func read(_ buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return -1
        case SSL_ERROR_ZERO_RETURN: return 0
        default: throw TLSError.openssl("TLS read failed")
        }
    }

    /// Writes bytes: count written (0 when the socket is full).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        guard bytes.count > 0 else { return 0 }
        let n = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return 0
        default: throw TLSError.openssl("TLS write failed")
        }
    }
}

/// Reads and writes on a socket that may carry TLS: the one place that chooses between them.
public enum SocketIO {
    /// Reads into `buffer`: bytes read, 0 at end of stream, -1 when it would block.
    @inline(__always)
    public static func read(_ fd: Int32, _ tls: TLSConnection?, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let tls { return try tls.read(buffer) }
        return try TCPSocket.read(fd, buffer)
    }

    /// Writes what the socket takes (0 when full).
    @inline(__always)
    public static func write(_ fd: Int32, _ tls: TLSConnection?, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        if let tls { return try tls.write(bytes) }
        return try TCPSocket.write(fd, bytes)
    }
}

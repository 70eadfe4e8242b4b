// The listening side every sink shares: its flags, and starting and stopping its gRPC and OTLP/HTTP
// servers with one policy per receiving thread.

import ArgumentParser
import PipeperfBase
import H2Transport

#if canImport(Glibc)
import Glibc
#endif

/// Where a sink listens, and with how many threads.
public struct SinkListenOptions: ParsableArguments, Sendable {
    @Option(
        help: "OTLP gRPC listen address, HOST:PORT (port 0 picks a free port, printed at start; 'none' to disable).")
    public var grpc: String = "127.0.0.1:4317"

    @Option(help: "OTLP/HTTP listen address, HOST:PORT (port 0 picks a free port; 'none' to disable).")
    public var http: String = "127.0.0.1:4318"

    @Option(help: "Admin HTTP listen address, HOST:PORT (port 0 picks a free port).")
    public var admin: String = "127.0.0.1:8081"

    @Option(help: "Receiving threads per protocol, each with its own event loop (1-64).")
    public var threads: Int = 1

    @Option(help: "Largest message accepted; larger ones get RESOURCE_EXHAUSTED (gRPC) or 413 (HTTP).")
    public var maxMessageBytes: Int = 4 * 1024 * 1024

    @Option(help: "PEM certificate (chain): serve gRPC over TLS with ALPN h2 instead of h2c (with --tls-key).")
    public var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    public var tlsKey: String?

    public init() {}

    /// Fails when both OTLP listeners are off and the sink has no other (the fake backend's syslog);
    /// each sink calls it from its own validate (an option group cannot see the sink's other options).
    public func requireListener(besides others: [String] = []) throws {
        if grpc == "none" && http == "none" && others.isEmpty {
            throw ValidationError("--grpc and --http are both 'none': nothing would listen")
        }
    }

    public func validate() throws {
        for (value, flag, example) in [(grpc, "--grpc", "127.0.0.1:4317"), (http, "--http", "127.0.0.1:4318")]
        where value != "none" {
            guard case .success = Endpoint.parse(value) else {
                throw ValidationError("\(flag) must be HOST:PORT, e.g. \(example), or none (got '\(value)')")
            }
        }
        guard case .success = Endpoint.parse(admin) else {
            throw ValidationError("--admin must be HOST:PORT, e.g. 127.0.0.1:8081 (got '\(admin)')")
        }
        guard (1...64).contains(threads) else {
            throw ValidationError("--threads must be between 1 and 64 (got \(threads))")
        }
        guard maxMessageBytes >= 5 else {
            throw ValidationError("--max-message-bytes must be at least 5 (got \(maxMessageBytes))")
        }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        for (flag, path) in [("--tls-cert", tlsCert), ("--tls-key", tlsKey)] {
            if let path, access(path, R_OK) != 0 { throw ValidationError("\(flag): cannot read \(path)") }
        }
    }
}

/// A sink's running gRPC and OTLP/HTTP servers.
public final class SinkServers {
    public let grpc: GRPCServer?
    public let http: HTTPExportServer?
    let options: SinkListenOptions

    /// Starts what `options` asks for. Policy `i` serves gRPC thread `i` (0 ..< threads) or OTLP/HTTP event
    /// loop `i - threads`.
    public init(
        _ options: SinkListenOptions, name: String, counters: SinkCounters,
        makePolicy: @escaping @Sendable (Int) -> any ExportPolicy
    ) throws {
        self.options = options
        let n = options.threads
        var g: GRPCServer? = nil
        if case .success(let e) = Endpoint.parse(options.grpc) {
            var tls: TLSServerContext? = nil
            if let cert = options.tlsCert, let key = options.tlsKey {
                do { tls = try TLSServerContext(certFile: cert, keyFile: key) } catch {
                    throw ValidationError("--tls-cert/--tls-key: \(error)")
                }
            }
            do {
                g = try GRPCServer(
                    GRPCServerOptions(
                        endpoint: e, threads: n, maxMessageBytes: options.maxMessageBytes, name: name, tls: tls),
                    counters: counters, makePolicy: makePolicy)
            } catch {
                throw ValidationError("--grpc \(options.grpc): \(error)")
            }
        }
        if case .success(let e) = Endpoint.parse(options.http) {
            do {
                http = try HTTPExportServer(
                    endpoint: e, threads: n, maxBodyBytes: options.maxMessageBytes, name: name, counters: counters
                ) {
                    makePolicy(n + $0)
                }
            } catch {
                g?.stop()
                throw ValidationError("--http \(options.http): \(error)")
            }
        } else {
            http = nil
        }
        grpc = g
    }

    public var grpcPort: UInt16 { grpc?.port ?? 0 }
    public var httpPort: UInt16 { UInt16(http?.port ?? 0) }

    public func stop() {
        grpc?.stop()
        http?.stop()
    }

    /// "grpc listening on H:P, http listening on H:P, admin on H:P": the start line supervisors read.
    public func startLine(adminPort: Int) -> String {
        var s = ""
        if case .success(let g) = Endpoint.parse(options.grpc) {
            s += "grpc listening on \(Endpoint(host: g.host, port: grpcPort)), "
        }
        if case .success(let h) = Endpoint.parse(options.http) {
            s += "http listening on \(Endpoint(host: h.host, port: httpPort)), "
        }
        if case .success(let a) = Endpoint.parse(options.admin) {
            s += "admin on \(Endpoint(host: a.host, port: UInt16(adminPort)))"
        }
        return s
    }
}

extension TCPListener {
    /// Accepts every connection waiting on `listener`, handing each descriptor to `adopt`; a descriptor
    /// `adopt` cannot take (it throws) is closed. Returns at EAGAIN or on an accept error.
    public static func acceptAll(_ listener: Int32, _ adopt: (Int32) throws -> Void) {
        while true {
            let fd: Int32?
            do { fd = try TCPListener.accept(listener) } catch { return }
            guard let fd else { return }
            do { try adopt(fd) } catch { Glibc.close(fd) }
        }
    }
}

/// A server thread's accepted connections: accepted from a listener, kept alive here, counted, and all
/// closed at the end. Used by the gRPC server and the fake backend's syslog receiver.
public final class ConnectionTable<C: AnyObject> {
    public private(set) var live: [ObjectIdentifier: C] = [:]
    /// Called with +1 / -1 as connections come and go (a counter for /status).
    let changed: (Int) -> Void

    public init(changed: @escaping (Int) -> Void) { self.changed = changed }

    /// Accepts every connection waiting on `listener`; `make` wraps the descriptor (registering it on
    /// the thread's loop). A descriptor `make` cannot take is closed.
    public func accept(_ listener: Int32, _ make: (Int32) throws -> C) {
        TCPListener.acceptAll(listener) { fd in
            let c = try make(fd)
            live[ObjectIdentifier(c)] = c
            changed(1)
        }
    }

    /// A connection closed itself.
    public func remove(_ c: C) {
        guard live.removeValue(forKey: ObjectIdentifier(c)) != nil else { return }
        changed(-1)
    }

    /// Closes every connection with `close` (which calls `remove`).
    public func closeAll(_ close: (C) -> Void) {
        for c in Array(live.values) { close(c) }
    }
}

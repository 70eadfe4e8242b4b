// The gRPC side of the sinks: per-thread epoll loops, each with its own SO_REUSEPORT listener,
// accepting HTTP/2 (h2c) connections and handing every OTLP export to the thread's ExportPolicy.
// The transport checks gRPC framing and sizes itself; the message bytes are collected only when the
// policy asks for them (the null sink does not). Replies can be held for a while (injected latency)
// on a per-thread timer heap. This file: the options and the server (its threads); GRPCWorker.swift
// is a thread's loop, GRPCWorker+DelayedReplies.swift its timer heap, GRPCServerConnection.swift a
// connection's I/O, GRPCServerConnection+HTTP2.swift the HTTP/2 session glue (streams, replies).

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Settings of the gRPC listener.
public struct GRPCServerOptions: Sendable {
    public var endpoint: Endpoint
    public var threads: Int
    /// Largest gRPC message accepted; larger ones get RESOURCE_EXHAUSTED (gRPC's default is 4 MiB).
    public var maxMessageBytes: Int
    /// The program's name, for messages.
    public var name: String
    /// TLS (with ALPN h2) instead of cleartext h2c.
    public var tls: TLSServerContext?
    public init(
        endpoint: Endpoint, threads: Int = 1, maxMessageBytes: Int = 4 * 1024 * 1024, name: String,
        tls: TLSServerContext? = nil
    ) {
        self.endpoint = endpoint
        self.threads = threads
        self.maxMessageBytes = maxMessageBytes
        self.name = name
        self.tls = tls
    }
}

/// The running gRPC side of a sink.
public final class GRPCServer: Sendable {
    public let port: UInt16
    let group = ThreadGroup()

    /// Binds the listeners (one per thread, same port) and starts the threads; thread `i` gets the
    /// policy `makePolicy(i)`, created on that thread.
    public init(
        _ options: GRPCServerOptions, counters: SinkCounters,
        makePolicy: @escaping @Sendable (Int) -> any ExportPolicy
    ) throws {
        let fds = try Listeners.bind(options.endpoint, count: options.threads)
        port = TCPListener.boundPort(fds[0])
        guard
            case .success(let bound) = SocketAddress.resolve(
                Endpoint(host: options.endpoint.host, port: TCPListener.boundPort(fds[0])))
        else {
            for fd in fds { close(fd) }
            throw SinkError("cannot resolve \(options.endpoint)")
        }
        try group.start(fds.count) { i, stopping in
            do {
                let w = try GRPCWorker(
                    listener: fds[i], address: bound, options: options, counters: counters, policy: makePolicy(i))
                w.run(until: stopping)
            } catch {
                close(fds[i])
                printError("\(options.name): worker failed: \(error)")
            }
        }
    }

    /// Stops the threads and closes every connection.
    public func stop() { group.stop() }
}

/// Listening sockets for several threads on one port.
public enum Listeners {
    /// `count` listeners on `endpoint` (SO_REUSEPORT when more than one); with port 0 the first picks
    /// the port and the others bind the same one.
    public static func bind(_ endpoint: Endpoint, count: Int) throws -> [Int32] {
        guard case .success(var address) = SocketAddress.resolve(endpoint) else {
            throw SinkError("cannot resolve \(endpoint)")
        }
        var fds: [Int32] = []
        var bound: UInt16 = endpoint.port
        for _ in 0..<count {
            if bound != endpoint.port,
                case .success(let a) = SocketAddress.resolve(Endpoint(host: endpoint.host, port: bound))
            {
                address = a
            }
            do {
                let fd = try TCPListener.listen(address, reusePort: count > 1)
                fds.append(fd)
                bound = TCPListener.boundPort(fd)
            } catch {
                for fd in fds { close(fd) }
                throw SinkError("cannot listen on \(endpoint): \(error)")
            }
        }
        return fds
    }
}

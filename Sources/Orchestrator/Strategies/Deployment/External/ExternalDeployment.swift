// `deployment: external:` — an endpoint that already runs (a vendor backend): nothing is deployed or
// destroyed; at deploy it is probed (a TCP connect) so that a wrong address fails the test at once,
// naming the endpoint, instead of showing up later as total loss. The ready probe and monitors apply.

import NIOCore
import NIOHTTP1
import PipeperfBase

struct ExternalDeployment: DeploymentStrategy {
    var endpoint: String
    /// `tcp`: connect once at deploy; `none`: trust it (a UDP endpoint cannot be probed so).
    var probe = "tcp"
    var probeTimeoutNanos: UInt64 = 5_000_000_000

    static let info = StrategyInfo(
        name: "external", summary: "an endpoint that already runs",
        keys: [
            KeySpec(
                "endpoint", "HOST:PORT", required: true,
                "an endpoint that already runs: nothing is deployed or destroyed"),
            KeySpec(
                "probe", "string", default: "tcp",
                "at deploy: `tcp` connects once and fails the deploy, naming the endpoint, when nothing answers; `none` skips it (UDP endpoints)"
            ),
            KeySpec("probe_timeout", "duration", default: "5s", "how long the TCP connect may take"),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> ExternalDeployment? {
        guard let e = o.string("endpoint") else { return nil }
        if case .failure(let err) = Endpoint.parse(e) {
            context.diags.add(o.location("endpoint"), o.sub("endpoint"), "\(err)")
        }
        var d = ExternalDeployment(endpoint: e)
        if let p = o.string("probe") {
            if p == "tcp" || p == "none" {
                d.probe = p
            } else {
                context.diags.add(o.location("probe"), o.sub("probe"), "expected tcp or none, found '\(p)'")
            }
        }
        if let t = o.duration("probe_timeout", allowZero: false) { d.probeTimeoutNanos = t }
        return d
    }

    func claimedPorts(component: String) -> [ClaimedPort] { [] }

    func deploy(_ c: Component, in run: RunContext) throws(PipeperfError) -> any LiveDeployment {
        if probe == "tcp", case .success(let e) = Endpoint.parse(endpoint) {
            do {
                let channel = try HTTPExchange.connect(
                    .tcp(host: e.host, port: Int(e.port)), timeoutNanos: probeTimeoutNanos
                ) {
                    ProbeHandler()
                }
                channel.close(promise: nil)
            } catch {
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': the external endpoint \(endpoint) does not answer (\(error.message)); check the address, or set probe: none",
                    cause: error)
            }
        }
        run.events.record("external_endpoint", component: c.name, [("endpoint", endpoint), ("probe", probe)])
        return LiveExternal()
    }
}

/// Nothing is read on the probe's connection.
final class ProbeHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
}

/// Nothing to stop: the endpoint is someone else's.
final class LiveExternal: LiveDeployment {
    var rootPID: Int32? { nil }
    var exited: String? { nil }
    func destroy(in run: RunContext) {}
    func killNow() {}
}

// `deployment: external:` — an endpoint that already runs (a vendor backend): nothing is deployed or
// destroyed; the ready probe and monitors still apply.

import PipeperfBase

struct ExternalDeployment: DeploymentStrategy {
    var endpoint: String

    static let info = StrategyInfo(
        name: "external", summary: "an endpoint that already runs",
        keys: [
            KeySpec(
                "endpoint", "HOST:PORT", required: true,
                "an endpoint that already runs: nothing is deployed or destroyed")
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> ExternalDeployment? {
        guard let e = o.string("endpoint") else { return nil }
        if case .failure(let err) = Endpoint.parse(e) {
            context.diags.add(o.location("endpoint"), o.sub("endpoint"), "\(err)")
        }
        return ExternalDeployment(endpoint: e)
    }

    func claimedPorts(component: String) -> [ClaimedPort] { [] }

    func deploy(_ c: Component, in run: RunContext) throws(PipeperfError) -> any LiveDeployment {
        run.events.record("external_endpoint", component: c.name, [("endpoint", endpoint)])
        return LiveExternal()
    }
}

/// Nothing to stop: the endpoint is someone else's.
final class LiveExternal: LiveDeployment {
    var rootPID: Int32? { nil }
    var exited: String? { nil }
    func destroy(in run: RunContext) {}
    func killNow() {}
}

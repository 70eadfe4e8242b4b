// `monitoring: component:` — a JSON status endpoint (loadgen's or a sink's /status), embedded in the
// sample as is: the report reads sent, received, dropped and latency from these documents. Every
// request asks for the per-second latency after the last second already read (`seconds_after=T`), so
// the fake backend's latency over time lands in samples.jsonl once per second; the others ignore it.

import AdminHTTP
import PipeperfBase
import Synchronization

struct ComponentMonitor: MonitorStrategy {
    var url: HTTPURL
    var intervalNanos: UInt64 = 1_000_000_000

    static let info = StrategyInfo(
        name: "component", summary: "a component's JSON status endpoint",
        keys: [
            KeySpec("url", "URL", required: true, "a JSON status endpoint (loadgen's or a sink's /status)"),
            KeySpec("interval", "duration", default: "1s", "between readings"),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> ComponentMonitor? {
        let interval = monitorInterval(o, context)
        guard let url = o.url("url") else { return nil }
        return ComponentMonitor(url: url, intervalNanos: interval ?? 1_000_000_000)
    }

    func problem(with deployment: any DeploymentStrategy) -> String? { nil }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        StatusSource(url: url)
    }
}

final class StatusSource: SampleSource {
    let url: HTTPURL
    /// The newest unix second of per-second latency read so far (0: none yet).
    let lastSecond = Atomic<Int>(0)
    init(url: HTTPURL) { self.url = url }
    var name: String { "component" }

    func read() -> SampleReading? { read(url) }

    /// At a window's edge the request carries `window=start` or `window=stop`: the fake backend opens or
    /// closes its latency window with the same reading (its status then holds the window's histograms);
    /// loadgen and the null sink ignore the parameter.
    func read(edge: WindowEdge) -> SampleReading? {
        var u = url
        u.path += (u.path.contains("?") ? "&" : "?") + "window=\(edge.rawValue)"
        return read(u)
    }

    func read(_ base: HTTPURL) -> SampleReading? {
        var u = base
        u.path += (u.path.contains("?") ? "&" : "?") + "seconds_after=\(lastSecond.load(ordering: .relaxed))"
        guard let res = try? HTTPClient.request("GET", u, timeoutNanos: 2_000_000_000), res.status == 200 else {
            return nil
        }
        let body = res.body.trimmingSpaces
        guard body.hasPrefix("{"), let doc = JSON.parse(body) else { return nil }
        if let newest = doc["latency_seconds"]?.array.compactMap({ $0["t"]?.number }).max() {
            _ = lastSecond.max(Int(newest), ordering: .relaxed)
        }
        // Our components stamp the moment they read their counters.
        return SampleReading(unixNanos: doc["time_unix_nano"]?.number.map { UInt64($0) }, status: body)
    }
}

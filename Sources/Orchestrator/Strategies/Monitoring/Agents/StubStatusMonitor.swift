// `monitoring: stub_status:` — nginx's request and connection counters from its stub_status page
// (ngx_http_stub_status_module):
//
//     Active connections: 2
//     server accepts handled requests
//      5 5 120
//     Reading: 0 Writing: 1 Waiting: 1
//
// as the series nginx-prometheus-exporter names them: `nginx_connections_accepted`,
// `nginx_connections_handled`, `nginx_http_requests_total` (counters), `nginx_connections_active`,
// `nginx_connections_reading`, `nginx_connections_writing`, `nginx_connections_waiting` (gauges). A
// gateway knows requests, not items: `hops: {requests: nginx_http_requests_total}` puts them in the
// hops. The page counts its own readings as requests too (one per interval).

import PipeperfBase

struct StubStatusMonitor: MonitorStrategy {
    var url: HTTPURL
    var intervalNanos: UInt64 = 1_000_000_000

    static let info = StrategyInfo(
        name: "stub_status", summary: "nginx's stub_status page (requests and connections), scraped",
        keys: [
            KeySpec("url", "URL", required: true, "the page (a location with `stub_status;`)"),
            KeySpec("interval", "duration", default: "1s", "between readings"),
        ])

    static var scrapes: Bool { true }

    static func read(_ o: ObjectReader, context: ReadContext) -> StubStatusMonitor? {
        let interval = monitorInterval(o, context)
        guard let url = o.url("url") else { return nil }
        return StubStatusMonitor(url: url, intervalNanos: interval ?? 1_000_000_000)
    }

    func problem(with deployment: any DeploymentStrategy) -> String? { nil }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        StubStatusSource(url: url)
    }

    /// The page's counters, or nil when it is not a stub_status page.
    static func parse(_ text: String) -> [PrometheusSample]? {
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        func sample(_ name: String, _ v: Substring?, _ type: String) -> PrometheusSample? {
            v.flatMap { Double($0) }.map { PrometheusSample(name: name, labels: [], value: $0, type: type) }
        }
        guard let active = lines.first(where: { $0.starts(with: ["Active", "connections:"]) }),
            let header = lines.firstIndex(where: { $0 == ["server", "accepts", "handled", "requests"] }),
            header + 1 < lines.count, lines[header + 1].count == 3,
            let rw = lines.first(where: { $0.first == "Reading:" }), rw.count == 6
        else { return nil }
        let totals = lines[header + 1]
        let out = [
            sample("nginx_connections_active", active.last, "gauge"),
            sample("nginx_connections_accepted", totals[0], "counter"),
            sample("nginx_connections_handled", totals[1], "counter"),
            sample("nginx_http_requests_total", totals[2], "counter"),
            sample("nginx_connections_reading", rw[1], "gauge"),
            sample("nginx_connections_writing", rw[3], "gauge"),
            sample("nginx_connections_waiting", rw[5], "gauge"),
        ]
        return out.contains(where: { $0 == nil }) ? nil : out.compactMap { $0 }
    }
}

final class StubStatusSource: SampleSource {
    let url: HTTPURL
    init(url: HTTPURL) { self.url = url }
    var name: String { "stub_status" }

    func read() -> SampleReading? {
        guard let res = try? HTTPClient.request("GET", url, timeoutNanos: 2_000_000_000), res.status == 200,
            let parsed = StubStatusMonitor.parse(res.body)
        else { return nil }
        return SampleReading.scraped(parsed)
    }
}

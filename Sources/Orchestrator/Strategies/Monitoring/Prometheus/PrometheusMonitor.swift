// `monitoring: prometheus:` — a Prometheus text endpoint (a collector's internal metrics, our
// components' /metrics), parsed (Prometheus/PrometheusText.swift), filtered, every series and its type
// kept in the sample.

import PipeperfBase

struct PrometheusMonitor: MonitorStrategy {
    var url: HTTPURL
    var intervalNanos: UInt64 = 1_000_000_000
    var include: [String] = []
    var exclude: [String] = []

    static let info = StrategyInfo(
        name: "prometheus", summary: "a Prometheus text endpoint, scraped",
        keys: [
            KeySpec(
                "url", "URL", required: true,
                "a Prometheus text endpoint (a collector's internal metrics, our components' /metrics)"),
            KeySpec("interval", "duration", default: "1s", "between scrapes"),
            KeySpec("include", "list of patterns", default: "all", "metric names to keep (`*` wildcards)"),
            KeySpec("exclude", "list of patterns", default: "none", "metric names to drop"),
        ])

    static var scrapes: Bool { true }

    static func read(_ o: ObjectReader, context: ReadContext) -> PrometheusMonitor? {
        let interval = monitorInterval(o, context)
        let include = o.stringList("include", single: true) ?? []
        let exclude = o.stringList("exclude", single: true) ?? []
        guard let url = o.url("url") else { return nil }
        return PrometheusMonitor(url: url, intervalNanos: interval ?? 1_000_000_000, include: include, exclude: exclude)
    }

    func problem(with deployment: any DeploymentStrategy) -> String? { nil }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        ScrapeSource(url: url, include: include, exclude: exclude)
    }
}

final class ScrapeSource: SampleSource {
    let url: HTTPURL
    let include: [String]
    let exclude: [String]
    init(url: HTTPURL, include: [String], exclude: [String]) {
        self.url = url
        self.include = include
        self.exclude = exclude
    }
    var name: String { "prometheus" }

    func read() -> SampleReading? {
        guard let res = try? HTTPClient.request("GET", url, timeoutNanos: 2_000_000_000), res.status == 200 else {
            return nil
        }
        return SampleReading.scraped(PrometheusText.parse(res.body, include: include, exclude: exclude))
    }
}

extension SampleReading {
    /// A reading of scraped series: every series' value (`series`) and each metric's type (`types`), the
    /// shape the report's scraped metrics and hops read from every scraping monitor.
    static func scraped(_ parsed: [PrometheusSample]) -> SampleReading {
        SampleReading { w in
            w.beginObject("series")
            for s in parsed where s.value.isFinite { w.field(s.series, s.value, decimals: 6) }
            w.endObject()
            w.beginObject("types")
            var seen = Set<String>()
            for s in parsed where seen.insert(s.name).inserted { w.field(s.name, s.type) }
            w.endObject()
        }
    }
}

// The keys of the suite language outside the strategies (whose kinds own theirs, Strategies/): the loader
// rejects anything else, and `pipeperf strategies` and docs/suites.md are built from these lists.

public enum SuiteKeys {
    public static let suite = [
        KeySpec(
            "from_template", "template reference",
            "`{path, variables}`: the rest of the suite from another suite file (its keys, with the ones written here winning; `variables` merged: the file's, then these, then this suite's own) — one base suite, a wrapper per core count or rate; paths stay relative to this file"
        ),
        KeySpec("name", "string", required: true, "the suite's name (the run folder is results/<name>/<timestamp>/)"),
        KeySpec(
            "variables", "mapping", default: "{}",
            "values for {{ … }} in the rest of the file; `--set key=value` overrides them"),
        KeySpec(
            "components", "mapping of name to component", default: "{}",
            "the processes and endpoints of the pipeline, in deploy order"),
        KeySpec("tests", "list of tests", required: true, "run in order"),
        KeySpec("hooks", "mapping", default: "{}", "suite hooks: `run: {pre: [...], post: [...]}`"),
        KeySpec(
            "compare_to", "test name", default: "the first test",
            "the reference test of report.html's charts across tests: every other test's bar shows its change against it"
        ),
        KeySpec(
            "code", "mapping", default: "{path: .}",
            "`path:` a git work tree whose commit, branch and dirty flag go into run.json and the report (the code under test; relative to the suite)"
        ),
        KeySpec(
            "reports", "list",
            "not needed: every run writes report.json, report.md, report-gab-bigger.json and report-gab-smaller.json and prints the console table (the key is rejected so that an old suite is not silently run differently)"
        ),
    ]

    public static let component = [
        KeySpec("configuration", "strategy", "`template:` — render a config file into the run folder before deploy"),
        KeySpec(
            "replicas", "whole number", default: "1",
            "run N copies named <name>-1 … <name>-N (process and docker deployments); `{{ replica }}` (1 … N) in its values gives each its own ports, names and config file; a flow, an action or `load:` naming <name> means every copy; the report keeps each copy and sums them (components.<name>, the hops)"
        ),
        KeySpec(
            "deployment", "strategy", required: true, "how the component runs: `process:`, `docker:` or `external:`"),
        KeySpec("execution", "strategy", "what it does during the load: `loadgen:` or `command:`"),
        KeySpec(
            "monitoring", "mapping of strategy to options",
            "any of `process:`, `docker:`, `component:`, `prometheus:`, `impstats:`, `stub_status:`, `syslog_ng_ctl:` (several at once); sampled between start_monitoring and stop_monitoring"
        ),
        KeySpec(
            "ready", "ready check",
            "an HTTP probe that must pass after deploy (same keys as the `ready_check_http` hook), or `{tcp: HOST:PORT, timeout, interval}`: a port that must accept a connection (an agent without an HTTP endpoint)"
        ),
        KeySpec(
            "snapshot", "URL",
            "fetched before the component is destroyed and kept as tests/<test>/<component>.snapshot (e.g. a sink's /status)"
        ),
        KeySpec(
            "hooks", "mapping of phase to {pre, post}",
            "hooks around the component's phases: configure, deploy, start, stop, destroy, start_monitoring, stop_monitoring"
        ),
        KeySpec(
            "reload", "mapping",
            "how it takes up a new configuration while it runs (`update_component_strategy` with `variables`): exactly one of `signal: HUP`, `url: URL` (with `method`), `restart: true`; `settle` after it"
        ),
        KeySpec(
            "hops", "mapping",
            "`{in, out, failed, requests}`, each a metric name or a list (summed): which scraped counters (prometheus, impstats or stub_status monitoring) count the items the component received, passed on and failed to pass on, or the requests it served, for the report's hops (built in for the OpenTelemetry Collector's otelcol_* names; docs/pipelines.md)"
        ),
    ]

    /// `reload:` — how a re-rendered configuration takes effect mid-test.
    public static let reload = [
        KeySpec(
            "signal", "signal name", "sent to the component's process (HUP, USR1, USR2, INT, TERM), e.g. HUP for nginx"),
        KeySpec("url", "URL", "instead: an HTTP request that makes it reload"),
        KeySpec("method", "string", default: "POST", "with url: the method"),
        KeySpec("restart", "boolean", "instead: destroy it and deploy it again"),
        KeySpec("settle", "duration", default: "1s", "waited after the reload"),
    ]

    /// `ready: {tcp: HOST:PORT}`.
    public static let readyTCP = [
        KeySpec("tcp", "HOST:PORT", required: true, "must accept a TCP connection"),
        KeySpec("timeout", "duration", default: "30s", "give up (a failure) after this long"),
        KeySpec("interval", "duration", default: "100ms", "between probes"),
    ]

    public static let test = [
        KeySpec("name", "string", required: true, "the test's name (unique)"),
        KeySpec("steps", "list of steps", "the steps, in order (or `flow`)"),
        KeySpec(
            "flow", "flow",
            "the standard flow instead of steps: deploy → ready → start load → warm up → observe → stop load → drain → destroy"
        ),
        KeySpec(
            "search", "search",
            "instead of steps or a flow: find the highest rate the pipeline sustains within `slo` (exponential steps, then bisection; docs/capacity.md)"
        ),
        KeySpec(
            "idle", "duration",
            "instead of steps or a flow: deploy, observe this long with no load, destroy (each component's CPU and memory at rest)"
        ),
        KeySpec(
            "matrix", "mapping of name to list",
            "run the test once per combination of values, named after them; the values are variables (in the test and in the components)"
        ),
        KeySpec(
            "variables", "mapping", default: "{}",
            "values for {{ … }} in this test and in the components as it runs them, over the suite's variables and `--set` (e.g. `{transport: udp}` for a variant of the same pipeline)"
        ),
        KeySpec("hooks", "mapping", "`run: {pre, post}` around the test"),
        KeySpec(
            "from_template", "template reference",
            "`{path, variables}`: the rest of the test from a template file (a list of steps, or a mapping of test keys; keys written here win)"
        ),
        KeySpec(
            "assert", "list of strings",
            "conditions on the test's report, `PATH OP NUMBER` (e.g. `dropped_pct < 0.1`, `latency_ms.p99 < 50`, `components.backend.cpu_cores_avg < 1.5`); a failed one fails the test"
        ),
        KeySpec(
            "replicates", "whole number", default: "1",
            "full deploy → warm-up → observe → destroy repetitions (named `<test>#<k>`, interleaved with the suite's other tests); the report gives each metric's mean, standard deviation, coefficient of variation and 90 % interval (`pipeperf run --replicates N` overrides)"
        ),
        KeySpec(
            "compare", "list",
            "report paths `pipeperf compare` judges besides the headline metrics: `PATH` (higher is better when it is a rate, `*_per_s`, else lower) or `{metric: PATH, direction: higher|lower, threshold_pct: N}`"
        ),
    ]

    public static let search = [
        KeySpec(
            "load", "component name", required: true,
            "the component whose `loadgen` execution drives the load (its `rate` is set per step)"),
        KeySpec("from", "rate", required: true, "the first rate offered, e.g. 10k"),
        KeySpec("to", "rate", required: true, "never offer more, e.g. 2M"),
        KeySpec(
            "precision", "fraction", default: "0.02",
            "stop bisecting when the bracket is within this fraction of its low end"),
        KeySpec("warmup", "duration", default: "2s", "each step's load runs this long before its window"),
        KeySpec("observe", "duration", default: "10s", "each step's observation window"),
        KeySpec(
            "slo", "list of strings", default: "[]",
            "conditions every step must meet, `PATH OP NUMBER` on the step's report (e.g. `dropped_pct <= 0.1`, `latency_ms.p99 <= 50`); besides them a step must receive 99 % of what it offered"
        ),
        KeySpec(
            "redeploy", "boolean", default: "false",
            "deploy and destroy the components around every step (default: once around the search, the backends reset between steps)"
        ),
        KeySpec(
            "growth", "number", default: "2",
            "the rate's factor from one passing step to the next before the first failure"),
        KeySpec("max_steps", "whole number", default: "40", "the search stops after this many steps, converged or not"),
        KeySpec("components", "list of component names", default: "all, in suite order", "what to deploy and destroy"),
    ]

    public static let compareMetric = [
        KeySpec(
            "metric", "report path", required: true,
            "e.g. `components.collector.metrics.otelcol_exporter_sent_log_records.rate_per_s`"),
        KeySpec("direction", "higher or lower", "which way is better (default: higher for `*_per_s`, else lower)"),
        KeySpec(
            "threshold_pct", "number", default: "the compare threshold (5)",
            "the smallest change called a regression or improvement"),
    ]

    public static let flow = [
        KeySpec(
            "load", "component name or list", required: true,
            "the component whose execution drives the load, or several (started together, stopped after the window)"),
        KeySpec("components", "list of component names", default: "all, in suite order", "what to deploy and destroy"),
        KeySpec("warmup", "duration", default: "0", "load runs this long before the observation window"),
        KeySpec(
            "observe", "duration", required: true,
            "the observation window, between `observation_start` and `observation_stop` events"),
        KeySpec("drain", "duration", default: "0", "wait after stopping the load, before destroying"),
    ]

    public static let step = [
        KeySpec("name", "string", required: true, "the step's name"),
        KeySpec(
            "action", "action", required: true,
            "exactly one of: component_action, multi_component_action, wait, update_component_strategy, record_event, no_op"
        ),
        KeySpec("hooks", "mapping", "`pre: [...]`, `post: [...]` around the action"),
        KeySpec("on_error", "on_error", "retries, retry_delay, continue"),
        KeySpec(
            "from_template", "template reference",
            "`{path, variables}`: steps from a template file (a list is spliced in here; a mapping is this step, keys written here win)"
        ),
    ]

    /// `from_template: {path, variables}`.
    public static let templateReference = [
        KeySpec("path", "path", required: true, "the template file (YAML after rendering), relative to the suite file"),
        KeySpec("variables", "mapping", default: "{}", "variables for the template, on top of the suite's"),
    ]

    public static let onError = [
        KeySpec("retries", "integer", default: "0", "tries again this many times"),
        KeySpec("retry_delay", "duration", default: "1s", "between tries"),
        KeySpec(
            "continue", "boolean", default: "false",
            "after the last failure, go on (the failure is recorded) instead of failing the test"),
    ]

    public static let phaseHooks = [
        KeySpec("pre", "list of hooks", default: "[]", "before"),
        KeySpec("post", "list of hooks", default: "[]", "after"),
    ]

    /// Every hook entry may carry these besides its kind.
    public static let hookCommon = [KeySpec("on_error", "on_error", "retries, retry_delay, continue")]
}

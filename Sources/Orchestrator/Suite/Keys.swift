// Every key a suite may use, with its type, default and meaning: the loader rejects anything else, and
// `pipeperf strategies` and docs/suites.md are checked against these lists.

public enum SuiteKeys {
    public static let suite = [
        KeySpec("name", "string", required: true, "the suite's name (the run folder is results/<name>/<timestamp>/)"),
        KeySpec("variables", "mapping", default: "{}", "values for {{ … }} in the rest of the file; `--set key=value` overrides them"),
        KeySpec("components", "mapping of name to component", default: "{}", "the processes and endpoints of the pipeline, in deploy order"),
        KeySpec("tests", "list of tests", required: true, "run in order"),
        KeySpec("hooks", "mapping", default: "{}", "suite hooks: `run: {pre: [...], post: [...]}`"),
        KeySpec("reports", "list", "not needed: every run writes report.json, report.md and report-gab.json and prints the console table (the key is rejected so that an old suite is not silently run differently)"),
    ]

    public static let component = [
        KeySpec("configuration", "strategy", "`template:` — render a config file into the run folder before deploy"),
        KeySpec("deployment", "strategy", required: true, "how the component runs: `process:`, `docker:` or `external:`"),
        KeySpec("execution", "strategy", "what it does during the load: `loadgen:` or `command:`"),
        KeySpec("monitoring", "mapping of strategy to options", "any of `process:`, `docker:`, `component:`, `prometheus:` (several at once); sampled between start_monitoring and stop_monitoring"),
        KeySpec("ready", "ready check", "an HTTP probe that must pass after deploy (same keys as the `ready_check_http` hook)"),
        KeySpec("snapshot", "URL", "fetched before the component is destroyed and kept as tests/<test>/<component>.snapshot (e.g. a sink's /status)"),
        KeySpec("hooks", "mapping of phase to {pre, post}", "hooks around the component's phases: configure, deploy, start, stop, destroy, start_monitoring, stop_monitoring"),
    ]

    public static let process = [
        KeySpec("command", "list of strings", required: true, "the program and its arguments; pipeperf's own executables (loadgen, null-sink, fake-backend) are found without a path"),
        KeySpec("environment", "mapping", default: "{}", "extra environment variables"),
        KeySpec("working_directory", "path", default: "the run folder", "where the process starts"),
        KeySpec("cpus", "string", "CPU list to pin the process to, e.g. \"2-3\" or \"0,2\" (sched_setaffinity)"),
        KeySpec("startup_check", "duration", default: "500ms", "the process must still be running this long after start"),
        KeySpec("stop_grace", "duration", default: "5s", "on destroy, SIGTERM to its process group, then SIGKILL after this long"),
    ]

    public static let docker = [
        KeySpec("image", "string", "the image (required unless `build` is given; pipeperf never pulls: the engine must have it). pipeperf's own `pipeperf/loadgen:0.1.0`, `pipeperf/null-sink:0.1.0` and `pipeperf/fake-backend:0.1.0` are built before the run unless --docker.no-build"),
        KeySpec("build", "mapping", "build the image before deploy (skipped with --docker.no-build): `context` (folder, relative to the suite file; required), `dockerfile` (default Dockerfile), `args` (mapping), `target`; tagged `image` when given, else pipeperf-suite/<suite>-<component>:latest"),
        KeySpec("command", "list of strings", default: "the image's CMD", "the container's command (arguments of the image's entrypoint)"),
        KeySpec("entrypoint", "list of strings", default: "the image's ENTRYPOINT", "replaces the image's entrypoint"),
        KeySpec("environment", "mapping or list", default: "{}", "variables: `{NAME: value}` or `[NAME=value, …]`"),
        KeySpec("ports", "list", default: "[]", "published ports: short `\"[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]\"` or long `{target, published, host_ip, protocol}`; the host IP defaults to 127.0.0.1 and a missing host port to the container port"),
        KeySpec("volumes", "list", default: "[]", "mounts: short `\"SOURCE:TARGET[:ro|rw]\"` or long `{source, target, read_only}`; a SOURCE with a `/` or starting with `.` is a host path (relative to the suite file), `rendered/FILE` a file the run rendered (always read-only), anything else a named volume"),
        KeySpec("network", "string", default: "the engine's default bridge", "a network to attach to, created (labelled with the run) when absent and removed at the end of the run only if this run created it; the component's name is its DNS alias there"),
        KeySpec("cpuset", "string", "CPUs the container may run on, e.g. \"1\" or \"0-1\""),
        KeySpec("cpus", "number", "CPU limit in cores (CFS quota), e.g. 0.5"),
        KeySpec("memory", "size", "memory limit, e.g. 256m or 1g (bytes without a unit)"),
        KeySpec("name", "string", default: "pipeperf-<suite>-<component>", "the container's name; a stale container of that name left by a pipeperf run is removed before deploy"),
        KeySpec("healthcheck", "list of strings", default: "the image's HEALTHCHECK", "the health command run inside the container (exec form); `[]` turns the image's off. When there is one, deploy waits until the container is healthy"),
        KeySpec("startup_timeout", "duration", default: "60s", "deploy fails when the container is not running (and healthy, with a health command) by then"),
        KeySpec("startup_check", "duration", default: "500ms", "the container must still be running this long after start"),
        KeySpec("stop_grace", "duration", default: "5s", "on destroy, SIGTERM then SIGKILL after this long; logs are saved to logs/<component>.stdout|.stderr and the container removed"),
    ]

    public static let dockerBuild = [
        KeySpec("context", "path", required: true, "the build context folder, relative to the suite file (sent as a tar archive; .dockerignore is not read)"),
        KeySpec("dockerfile", "path", default: "Dockerfile", "the Dockerfile, relative to the context"),
        KeySpec("args", "mapping", default: "{}", "build arguments"),
        KeySpec("target", "string", "the stage to build"),
    ]

    public static let dockerPort = [
        KeySpec("target", "integer", required: true, "the container port"),
        KeySpec("published", "integer", default: "the container port", "the host port (0: any free port)"),
        KeySpec("host_ip", "address", default: "127.0.0.1", "the host address to publish on (0.0.0.0: every interface)"),
        KeySpec("protocol", "string", default: "tcp", "tcp or udp"),
    ]

    public static let dockerVolume = [
        KeySpec("source", "string", required: true, "a host path (with a `/` or starting with `.`, relative to the suite file), `rendered/FILE`, or a named volume"),
        KeySpec("target", "path", required: true, "the absolute path in the container"),
        KeySpec("read_only", "boolean", default: "false (true for rendered/ files)", "mount read-only"),
    ]

    public static let external = [
        KeySpec("endpoint", "HOST:PORT", required: true, "an endpoint that already runs: nothing is deployed or destroyed"),
    ]

    public static let loadgen = [
        KeySpec("admin", "HOST:PORT", required: true, "the admin address of a `loadgen serve` component"),
        KeySpec("options", "mapping", default: "{}", "`loadgen run` options without dashes (rate, duration, endpoint, batch_size, …), checked by loadgen's own parser"),
    ]

    public static let command = [
        KeySpec("command", "list of strings", required: true, "started at `start`, stopped (SIGTERM to its group) at `stop`"),
        KeySpec("environment", "mapping", default: "{}", "extra environment variables"),
    ]

    public static let template = [
        KeySpec("source", "path", required: true, "the template file, relative to the suite file"),
        KeySpec("destination", "file name", required: true, "written into the run folder's `rendered/` folder; `{{ rendered.NAME }}` is its path"),
        KeySpec("variables", "mapping", default: "{}", "variables for the template, on top of the suite's"),
    ]

    public static let test = [
        KeySpec("name", "string", required: true, "the test's name (unique)"),
        KeySpec("steps", "list of steps", "the steps, in order (or `flow`)"),
        KeySpec("flow", "flow", "the standard flow instead of steps: deploy → ready → start load → warm up → observe → stop load → drain → destroy"),
        KeySpec("matrix", "mapping of name to list", "run the test once per combination of values, named after them; the values are variables"),
        KeySpec("hooks", "mapping", "`run: {pre, post}` around the test"),
        KeySpec("from_template", "template reference", "`{path, variables}`: the rest of the test from a template file (a list of steps, or a mapping of test keys; keys written here win)"),
        KeySpec("assert", "list of strings", "conditions on the test's report, `PATH OP NUMBER` (e.g. `dropped_pct < 0.1`, `latency_ms.p99 < 50`, `components.backend.cpu_cores_avg < 1.5`); a failed one fails the test"),
    ]

    public static let monitoring: [String: [KeySpec]] = [
        "process": [KeySpec("interval", "duration", default: "1s", "between readings of the component's process tree (procfs: CPU user/system, RSS, threads, open files, context switches)")],
        "docker": [KeySpec("interval", "duration", default: "1s", "between readings of the container's stats from the engine (CPU in cores from the usage deltas, memory without page cache, network rx/tx, block I/O, CPU throttling when limited); needs a `docker` deployment")],
        "component": [KeySpec("url", "URL", required: true, "a JSON status endpoint (loadgen's or a sink's /status)"),
                      KeySpec("interval", "duration", default: "1s", "between readings")],
        "prometheus": [KeySpec("url", "URL", required: true, "a Prometheus text endpoint (a collector's internal metrics, our components' /metrics)"),
                       KeySpec("interval", "duration", default: "1s", "between scrapes"),
                       KeySpec("include", "list of patterns", default: "all", "metric names to keep (`*` wildcards)"),
                       KeySpec("exclude", "list of patterns", default: "none", "metric names to drop")],
    ]

    public static let flow = [
        KeySpec("load", "component name", required: true, "the component whose execution drives the load"),
        KeySpec("components", "list of component names", default: "all, in suite order", "what to deploy and destroy"),
        KeySpec("warmup", "duration", default: "0", "load runs this long before the observation window"),
        KeySpec("observe", "duration", required: true, "the observation window, between `observation_start` and `observation_stop` events"),
        KeySpec("drain", "duration", default: "0", "wait after stopping the load, before destroying"),
    ]

    public static let step = [
        KeySpec("name", "string", required: true, "the step's name"),
        KeySpec("action", "action", required: true, "exactly one of: component_action, multi_component_action, wait, update_component_strategy, record_event, no_op"),
        KeySpec("hooks", "mapping", "`pre: [...]`, `post: [...]` around the action"),
        KeySpec("on_error", "on_error", "retries, retry_delay, continue"),
        KeySpec("from_template", "template reference", "`{path, variables}`: steps from a template file (a list is spliced in here; a mapping is this step, keys written here win)"),
    ]

    /// `from_template: {path, variables}`.
    public static let templateReference = [
        KeySpec("path", "path", required: true, "the template file (YAML after rendering), relative to the suite file"),
        KeySpec("variables", "mapping", default: "{}", "variables for the template, on top of the suite's"),
    ]

    public static let onError = [
        KeySpec("retries", "integer", default: "0", "tries again this many times"),
        KeySpec("retry_delay", "duration", default: "1s", "between tries"),
        KeySpec("continue", "boolean", default: "false", "after the last failure, go on (the failure is recorded) instead of failing the test"),
    ]

    public static let phaseHooks = [
        KeySpec("pre", "list of hooks", default: "[]", "before"),
        KeySpec("post", "list of hooks", default: "[]", "after"),
    ]

    public static let actions: [String: [KeySpec]] = [
        "component_action": [KeySpec("target", "component name", required: true, "the component"),
                             KeySpec("phase", "phase", required: true, "configure, deploy, start, stop, destroy, start_monitoring or stop_monitoring")],
        "multi_component_action": [KeySpec("phase", "phase", required: true, "the phase"),
                                   KeySpec("targets", "list of component names", default: "all, in suite order (destroy: reverse order)", "the components")],
        "wait": [KeySpec("duration", "duration", required: true, "how long")],
        "update_component_strategy": [KeySpec("target", "component name", required: true, "a component with a `loadgen` execution"),
                                      KeySpec("options", "mapping", required: true, "loadgen options to change, e.g. {rate: 200k}; used by the next `start`")],
        "record_event": [KeySpec("name", "string", required: true, "the event's name"),
                         KeySpec("attributes", "mapping", default: "{}", "its attributes")],
        "no_op": [],
    ]

    public static let hooks: [String: [KeySpec]] = [
        "run_command": [KeySpec("command", "list of strings", required: true, "the program and its arguments (no shell)"),
                        KeySpec("shell", "boolean", default: "false", "run `command` (one string) through /bin/sh -c instead"),
                        KeySpec("environment", "mapping", default: "{}", "extra environment variables"),
                        KeySpec("timeout", "duration", default: "60s", "killed after this long (a failure)")],
        "send_http_request": [KeySpec("url", "URL", required: true, "http://HOST:PORT/PATH"),
                              KeySpec("method", "string", default: "GET", "the method"),
                              KeySpec("body", "string", "the request body"),
                              KeySpec("headers", "mapping", default: "{}", "extra headers"),
                              KeySpec("expect_status", "integer", "fail unless the answer has this status (default: any 2xx)")],
        "ready_check_http": [KeySpec("url", "URL", required: true, "probed until it answers as expected"),
                             KeySpec("status", "integer", default: "200", "the expected status"),
                             KeySpec("body_contains", "string", "the body must contain this"),
                             KeySpec("json_field", "dotted path", "the body must be JSON with this field (e.g. `state` or `logs.received`)"),
                             KeySpec("json_value", "string", "with json_field: the field must have this value (as text)"),
                             KeySpec("timeout", "duration", default: "30s", "give up (a failure) after this long"),
                             KeySpec("interval", "duration", default: "100ms", "between probes")],
        "record_event": [KeySpec("name", "string", required: true, "the event's name"),
                         KeySpec("attributes", "mapping", default: "{}", "its attributes")],
        "render_template": [KeySpec("source", "path", required: true, "the template, relative to the suite file"),
                            KeySpec("destination", "file name", required: true, "written into the run folder's `rendered/`"),
                            KeySpec("variables", "mapping", default: "{}", "variables on top of the suite's")],
        "raise_error": [KeySpec("message", "string", default: "raised by the suite", "fails with this message (for testing error policies)")],
    ]

    /// Every hook entry may carry these besides its kind.
    public static let hookCommon = [KeySpec("on_error", "on_error", "retries, retry_delay, continue")]
}

// Every kind of every family, in one place. The loader's unknown-name errors, `pipeperf strategies`
// and the key reference in docs/suites.md all iterate these lists: a new kind is its folder under
// Strategies/ and one line here.

enum Registry {
    static let deployments: [StrategyKind<any DeploymentStrategy>] = [
        StrategyKind(ProcessDeployment.self),
        StrategyKind(DockerDeployment.self),
        StrategyKind(ExternalDeployment.self),
    ]

    static let executions: [StrategyKind<any ExecutionStrategy>] = [
        StrategyKind(LoadgenExecution.self),
        StrategyKind(CommandExecution.self),
        StrategyKind(SDKExecution.self),
    ]

    static let monitors: [StrategyKind<any MonitorStrategy>] = [
        StrategyKind(ProcessMonitor.self),
        StrategyKind(DockerMonitor.self),
        StrategyKind(ComponentMonitor.self),
        StrategyKind(PrometheusMonitor.self),
        StrategyKind(ImpstatsMonitor.self),
        StrategyKind(StubStatusMonitor.self),
        StrategyKind(SyslogNGMonitor.self),
    ]

    /// The sample sources whose readings are scraped metric series.
    static let scrapedSources: [String] = monitors.filter(\.scrapes).map(\.info.name)

    static let configurations: [StrategyKind<any ConfigurationStrategy>] = [
        StrategyKind(TemplateConfiguration.self)
    ]

    /// Step actions and their keys (Suite/Loader+Steps.swift reads them, Runtime/Runner.swift runs them).
    static let actions: [(name: String, keys: [KeySpec])] = [
        (
            "component_action",
            [
                KeySpec("target", "component name", required: true, "the component"),
                KeySpec(
                    "phase", "phase", required: true,
                    "configure, deploy, start, stop, destroy, start_monitoring or stop_monitoring"),
            ]
        ),
        (
            "multi_component_action",
            [
                KeySpec("phase", "phase", required: true, "the phase"),
                KeySpec(
                    "targets", "list of component names", default: "all, in suite order (destroy: reverse order)",
                    "the components"),
            ]
        ),
        ("no_op", []),
        (
            "record_event",
            [
                KeySpec("name", "string", required: true, "the event's name"),
                KeySpec("attributes", "mapping", default: "{}", "its attributes"),
            ]
        ),
        (
            "update_component_strategy",
            [
                KeySpec("target", "component name", required: true, "the component"),
                KeySpec(
                    "options", "mapping",
                    "loadgen options to change, e.g. {rate: 200k}; used by the next `start` (a `loadgen` execution)"),
                KeySpec(
                    "variables", "mapping",
                    "variables to change for the rest of the test: the config is rendered again and the component read again with them (its command, cores, image); while it runs, it takes them up as its `reload:` says (a changed deployment needs `restart: true`)"
                ),
            ]
        ),
        ("wait", [KeySpec("duration", "duration", required: true, "how long")]),
    ]

    /// Hooks and their keys (Suite/Loader+Hooks.swift reads them, Runtime/Hooks.swift runs them).
    static let hooks: [(name: String, keys: [KeySpec])] = [
        (
            "raise_error",
            [
                KeySpec(
                    "message", "string", default: "raised by the suite",
                    "fails with this message (for testing error policies)")
            ]
        ),
        (
            "ready_check_http",
            [
                KeySpec("url", "URL", required: true, "probed until it answers as expected"),
                KeySpec("status", "integer", default: "200", "the expected status"),
                KeySpec("body_contains", "string", "the body must contain this"),
                KeySpec(
                    "json_field", "dotted path",
                    "the body must be JSON with this field (e.g. `state` or `logs.received`)"),
                KeySpec("json_value", "string", "with json_field: the field must have this value (as text)"),
                KeySpec("timeout", "duration", default: "30s", "give up (a failure) after this long"),
                KeySpec("interval", "duration", default: "100ms", "between probes"),
            ]
        ),
        (
            "record_event",
            [
                KeySpec("name", "string", required: true, "the event's name"),
                KeySpec("attributes", "mapping", default: "{}", "its attributes"),
            ]
        ),
        (
            "render_template",
            [
                KeySpec("source", "path", required: true, "the template, relative to the suite file"),
                KeySpec("destination", "file name", required: true, "written into the run folder's `rendered/`"),
                KeySpec("variables", "mapping", default: "{}", "variables on top of the suite's"),
            ]
        ),
        (
            "run_command",
            [
                KeySpec("command", "list of strings", required: true, "the program and its arguments (no shell)"),
                KeySpec("shell", "boolean", default: "false", "run `command` (one string) through /bin/sh -c instead"),
                KeySpec("environment", "mapping", default: "{}", "extra environment variables"),
                KeySpec("timeout", "duration", default: "60s", "killed after this long (a failure)"),
            ]
        ),
        (
            "send_http_request",
            [
                KeySpec("url", "URL", required: true, "http://HOST:PORT/PATH"),
                KeySpec("method", "string", default: "GET", "the method"),
                KeySpec("body", "string", "the request body"),
                KeySpec("headers", "mapping", default: "{}", "extra headers"),
                KeySpec("expect_status", "integer", "fail unless the answer has this status (default: any 2xx)"),
            ]
        ),
    ]

    static func actionKeys(_ name: String) -> [KeySpec]? { actions.first { $0.name == name }?.keys }
    static func hookKeys(_ name: String) -> [KeySpec]? { hooks.first { $0.name == name }?.keys }
}

// The control surface every pipeperf component serves on its admin port, written once (DESIGN.md):
// GET /healthz, GET /status (JSON), GET /metrics (Prometheus text), POST /reset, plus the routes a
// component adds (the load generator's POST /start and POST /stop, the fake backend's GET|POST
// /faults). A known path asked with another method is 405; an unknown path is 404 naming every route.

/// One route a component adds to the control surface.
public struct ControlRoute: Sendable {
    public var method: String
    public var path: String
    public var handle: @Sendable (AdminRequest) -> AdminResponse

    public init(_ method: String, _ path: String, _ handle: @escaping @Sendable (AdminRequest) -> AdminResponse) {
        self.method = method
        self.path = path
        self.handle = handle
    }
}

/// The admin API of one component.
public struct ControlSurface: Sendable {
    let routes: [ControlRoute]

    /// `status` is the /status document (given the request's query string), `metrics` the Prometheus text, `reset` what POST /reset does
    /// (answering with its JSON, or an error); `extra` the component's own routes.
    public init(
        status: @escaping @Sendable (_ query: String) -> String, metrics: @escaping @Sendable () -> String,
        reset: @escaping @Sendable () -> AdminResponse, extra: [ControlRoute] = []
    ) {
        routes =
            [
                ControlRoute("GET", "/healthz") { _ in AdminResponse(body: "ok\n") },
                ControlRoute("GET", "/status") { r in .json(status(r.query)) },
                ControlRoute("GET", "/metrics") { _ in
                    AdminResponse(contentType: "text/plain; version=0.0.4", body: metrics())
                },
                ControlRoute("POST", "/reset") { _ in reset() },
            ] + extra
    }

    /// Answers one admin request.
    public func handle(_ r: AdminRequest) -> AdminResponse {
        if let route = routes.first(where: { $0.method == r.method && $0.path == r.path }) { return route.handle(r) }
        let allowed = routes.filter { $0.path == r.path }.map(\.method)
        if !allowed.isEmpty {
            return .error(405, "\(r.method) is not allowed on \(r.path); use \(allowed.joined(separator: " or "))")
        }
        return .error(
            404,
            "no such endpoint \(r.method) \(r.path); try \(routes.map { "\($0.method) \($0.path)" }.joined(separator: ", "))"
        )
    }
}

// The Docker engine as the run's components share it: one connection to the engine (checked once, with
// a word about what dead runs left behind), the images built this run, the networks this run created
// (removed when the run ends).

import AdminHTTP
import PipeperfBase

final class DockerSession: RunResource {
    let engine: DockerEngine
    var builtImages: Set<String> = []
    var createdNetworks: [String] = []

    init(run: RunContext) throws(PipeperfError) {
        engine = try DockerEngine()
        try engine.ping()
        if let left = try? DockerGC.leftovers(engine), !left.isEmpty {
            run.log(
                "pipeperf: \(left.count) container(s) or network(s) left by pipeperf runs that are no longer alive (\(left.map(\.name).joined(separator: ", "))); `pipeperf gc` removes them"
            )
        }
    }

    /// The image to run: built or checked.
    func image(for c: Component, _ d: DockerDeployment, in run: RunContext) throws(PipeperfError) -> String {
        let image = d.image ?? "pipeperf-suite/\(safeName(run.suite.name).lowercased())-\(c.name.lowercased()):latest"
        if !run.dockerNoBuild && !builtImages.contains(image) {
            if let b = d.build {
                run.log("pipeperf: building \(image) from \(b.context)")
                var tar = TarWriter()
                try tar.addTree(b.context)
                let output = try engine.build(
                    tag: image, context: tar.finish(), dockerfile: b.dockerfile, args: b.args, target: b.target,
                    labels: [(RunLabels.component, c.name)])
                run.keep("logs/\(c.name).build", output)
                run.events.record("image_built", component: c.name, [("image", image)])
                builtImages.insert(image)
            } else if let role = PipeperfImages.role(of: image) {
                let built = try PipeperfImages.build(
                    engine: engine, roles: [role], log: { if run.debug { run.log($0) } })
                run.events.record(
                    "image_built", component: c.name, [("image", image), ("bytes", String(built.first?.1 ?? 0))])
                builtImages.insert(image)
            }
        }
        guard try engine.imageSize(image) != nil else {
            if PipeperfImages.role(of: image) != nil {
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': the engine has no image \(image): build pipeperf's images with scripts/build-images (or run without --docker.no-build)"
                )
            }
            if d.build != nil {
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': the engine has no image \(image) (it is built from build.context; run without --docker.no-build)"
                )
            }
            throw PipeperfError(
                .failed,
                "component '\(c.name)': the engine has no image \(image), and pipeperf does not pull images: load it first (docker load -i FILE, or docker pull where a registry is reachable)"
            )
        }
        return image
    }

    /// Creates the network unless it exists; remembers it when this run created it.
    func network(_ name: String, in run: RunContext) throws(PipeperfError) {
        let r = try engine.request("GET", "/networks/\(queryEscape(name))")
        if r.status == 200 { return }
        guard r.status == 404 else {
            throw PipeperfError(.docker, "inspecting network \(name): \(r.message)", status: r.status)
        }
        var labels: [String: JSON] = [:]
        for (k, v) in RunLabels.forThisProcess(run: run.runID) { labels[k] = .string(v) }
        let body = JSON.object([
            "Name": .string(name), "CheckDuplicate": .bool(true), "Driver": .string("bridge"),
            "Labels": .object(labels),
        ])
        let created = try engine.expect("POST", "/networks/create", body: body, what: "creating network \(name)")
        createdNetworks.append(created.json?["Id"]?.string ?? name)
        run.events.record("network_created", [("network", name)])
    }

    /// Removes the networks this run created.
    func finish(in run: RunContext) {
        for id in createdNetworks.reversed() {
            let r = try? engine.request("DELETE", "/networks/\(id)")
            run.events.record(
                "network_removed", [("network", String(id.prefix(12))), ("status", String(r?.status ?? 0))])
        }
        createdNetworks.removeAll()
    }
}

// `configuration: template:` — a config file rendered (strict Jinja-like templates, Template/) into the
// run folder's rendered/ before deploy; `{{ rendered.NAME }}` is its path in later values.

import PipeperfBase

struct TemplateConfiguration: ConfigurationStrategy {
    var source: String
    var destination: String
    var variables: [String: TemplateValue]

    static let info = StrategyInfo(
        name: "template", summary: "renders a config file before deploy",
        keys: [
            KeySpec("source", "path", required: true, "the template file, relative to the suite file"),
            KeySpec(
                "destination", "file name", required: true,
                "written into the run folder's `rendered/` folder; `{{ rendered.NAME }}` is its path"),
            KeySpec("variables", "mapping", default: "{}", "variables for the template, on top of the suite's"),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> TemplateConfiguration? {
        guard let source = o.string("source"), let destination = o.string("destination") else { return nil }
        SuiteLoader.checkTemplateFile(source, at: o.location("source"), path: o.sub("source"), context: context)
        SuiteLoader.checkFileName(
            destination, at: o.location("destination"), path: o.sub("destination"), context: context)
        return TemplateConfiguration(
            source: source, destination: destination, variables: SuiteLoader.extraVariables(o, "variables", context))
    }

    func configure(_ c: Component, in run: RunContext) throws(PipeperfError) -> String {
        // Values a step changed mid-test (`update_component_strategy` with `variables`) win.
        var vars = variables
        for (k, v) in run.configOverrides[c.name] ?? [] { vars[k] = .text(v) }
        return try run.render(source: source, destination: destination, variables: vars)
    }
}

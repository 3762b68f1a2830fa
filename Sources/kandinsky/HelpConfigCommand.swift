import ArgumentParser
import KandinskyExperiments

/// `kandinsky help-config`: the configuration schema, as the composer checks it.
struct HelpConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "help-config",
        abstract: "Print every configuration key the experiment commands read: its type, range and meaning.",
        discussion:
            "Values are checked against this schema when a configuration is composed, before any work starts; an error names the key, the value, the allowed range and the file or override it came from."
    )

    @Argument(
        help: ArgumentHelp(
            "Only the keys under this section or key (e.g. calibration, data.dims).", valueName: "prefix"))
    var prefix: String?

    func run() throws {
        let text = ConfigSchema.helpText(prefix: prefix)
        guard !text.isEmpty else { throw ValidationError("no configuration key starts with '\(prefix ?? "")'") }
        print(text)
    }
}

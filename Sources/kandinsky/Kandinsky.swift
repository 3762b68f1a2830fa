import ArgumentParser
import KandinskyCore

@main
struct Kandinsky: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kandinsky",
        abstract: "Train, calibrate and evaluate image-segmentation models with Kandinsky conformal prediction.",
        version: KandinskyVersion.string,
        subcommands: [InfoCommand.self, SynthCommand.self, SplitCommand.self, DumpDatasetCommand.self, CheckDataCommand.self]
    )
}

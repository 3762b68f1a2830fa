import ArgumentParser
import Foundation
import KandinskyCore

@main
struct Kandinsky: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kandinsky",
        abstract: "Train, calibrate and evaluate image-segmentation models with Kandinsky conformal prediction.",
        version: KandinskyVersion.string,
        groupedSubcommands: [
            CommandGroup(name: "Experiments (configured like the original: experiment=NAME key=value …)", subcommands: [
                PipelineCommand.self, TrainCommand.self, CalibrateCommand.self, EvalCommand.self, PredictCommand.self,
            ]),
            CommandGroup(name: "Calibration from .npy files", subcommands: [
                CalibrateScoresCommand.self, EvaluateScoresCommand.self, PredictSetsCommand.self, InferCommand.self,
            ]),
            CommandGroup(name: "Data", subcommands: [
                SynthCommand.self, SplitCommand.self, DumpDatasetCommand.self, CheckDataCommand.self,
            ]),
            CommandGroup(name: "Files", subcommands: [InfoCommand.self]),
        ]
    )
}

/// Prints one warning line on standard error (standard output stays the command's report).
func printWarning(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

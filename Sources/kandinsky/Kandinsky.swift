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

    /// Refuses an invalid `KANDINSKY_THREADS` with one line on standard error and status 64
    /// before any command runs (the library alone would ignore it with a warning).
    static func main() {
        if case .invalid(let value) = ThreadLimit.environmentReading {
            FileHandle.standardError.write(Data("kandinsky: \(ThreadLimit.problem(with: value))\n".utf8))
            Self.exit(withError: ExitCode(64))
        }
        Self.main(nil)
    }
}

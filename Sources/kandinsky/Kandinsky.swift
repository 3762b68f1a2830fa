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
            CommandGroup(
                name: "Experiments (configured like the original: experiment=NAME key=value …)",
                subcommands: [
                    PipelineCommand.self, TrainCommand.self, CalibrateCommand.self, EvalCommand.self,
                    PredictCommand.self,
                    HelpConfigCommand.self,
                ]),
            CommandGroup(
                name: "Calibration from .npy and .safetensors files",
                subcommands: [
                    CalibrateScoresCommand.self, EvaluateScoresCommand.self, PredictSetsCommand.self, InferCommand.self,
                    ScoreCommand.self, MergeScoresCommand.self,
                ]),
            CommandGroup(
                name: "Data",
                subcommands: [
                    SynthCommand.self, SplitCommand.self, DumpDatasetCommand.self, CheckDataCommand.self,
                ]),
            CommandGroup(name: "Files", subcommands: [InfoCommand.self, ExportWeightsCommand.self]),
        ]
    )

    /// Parses and runs a subcommand. Help and version requests and explicit exit codes behave as
    /// swift-argument-parser's default `main`; every other error is one line on stderr:
    /// `Error: …`, exit status 2 for a usage error (an unknown option, a missing argument, a
    /// failed validation) and 1 for a failure of the command itself.
    ///
    /// An invalid `KANDINSKY_THREADS` is refused the same way (one line, exit 2) before any
    /// command runs; the library alone would ignore it with a warning.
    static func main() {
        if case .invalid(let value) = ThreadLimit.environmentReading {
            FileHandle.standardError.write(Data("Error: \(ThreadLimit.problem(with: value))\n".utf8))
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code.isSuccess || error is ExitCode { exit(withError: error) }
            let message = message(for: error).split(whereSeparator: \.isNewline).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            .filter { !$0.isEmpty }.joined(separator: " ")
            let line = message.hasPrefix("Error: ") ? message : "Error: " + message
            FileHandle.standardError.write(Data((line + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

/// Prints one warning line on standard error (standard output stays the command's report).
func printWarning(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

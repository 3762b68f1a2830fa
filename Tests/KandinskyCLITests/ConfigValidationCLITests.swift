import Foundation
import KandinskyTestSupport
import Testing

/// Bad configurations through the real tool: one line on stderr naming the key, the value, the
/// range and the override; exit status 1; nothing written. Usage errors: one line, status 2.
@Suite struct ConfigValidationCLITests {
    /// Runs `body` with an empty working directory, so any file a run wrote would show; the
    /// directory is removed afterwards.
    static func withEmptyDirectory(_ body: (URL) throws -> Void) throws {
        try withScratchDirectory("config-cli", body)
    }

    static func contents(_ directory: URL) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: directory.path)
    }

    @Test(arguments: [
        (
            ["train", "data.batch_size=0"],
            "Error: config key 'data.batch_size' is 0, expected an integer in 1...1024 (from override 'data.batch_size=0')"
        ),
        (
            ["calibrate", "ckpt_path=cmodel.safetensors", "class_idx=9223372036854775807"],
            "Error: config key 'class_idx' is 9223372036854775807: expected a class index in 0...1 (the background and the 1 data.categories [\"person\"]) (from override 'class_idx=9223372036854775807')"
        ),
        (
            ["calibrate", "ckpt_path=cmodel.safetensors", "calibration.curve_count=1e8"],
            "Error: config key 'calibration.curve_count' is 1e8, expected an integer in 2...1000 (from override 'calibration.curve_count=1e8')"
        ),
        (
            ["train", "model.net.depth=40"],
            "Error: config key 'model.net.depth' is 40, expected an integer in 1...8 (from override 'model.net.depth=40')"
        ),
        (
            ["train", "data.dims=[100000,100000]"],
            "Error: config key 'data.dims' is [100000, 100000], expected a list of 2 integers in 1...8192 (from override 'data.dims=[100000,100000]')"
        ),
        (
            ["train", "model.optimizer.lr=nan"],
            "Error: config key 'model.optimizer.lr' is nan, expected a number in (0, 1000] (from override 'model.optimizer.lr=nan')"
        ),
        (
            ["train", "data.augmentations.affine.scale=[0,0]"],
            "Error: config key 'data.augmentations.affine.scale' is [0, 0], expected a list of 2 numbers, each in (0, 10] (from override 'data.augmentations.affine.scale=[0,0]')"
        ),
        (
            ["pipeline", "model.scheduler.T_mult=-9223372036854775808"],
            "Error: config key 'model.scheduler.T_mult' is -9223372036854775808, expected an integer in 1...1000 (from override 'model.scheduler.T_mult=-9223372036854775808')"
        ),
        (["train", "=1"], "Error: override '=1' has an empty key: expected key=value, e.g. data.batch_size=8"),
    ])
    func badValueIsOneLineAndWritesNothing(_ arguments: [String], _ line: String) throws {
        try Self.withEmptyDirectory { directory in
            let run = try runKandinsky(arguments, in: directory)
            #expect(run.status == 1)
            #expect(run.errorLines == [line])
            #expect(try Self.contents(directory).isEmpty)
        }
    }

    @Test func deepAndExplodingDocumentsAreOneLine() throws {
        try Self.withEmptyDirectory { directory in
            let deep = try runKandinsky(
                [
                    "train",
                    "data.dims=" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000),
                ],
                in: directory)
            #expect(deep.status == 1)
            #expect(
                deep.errorLines == [
                    "Error: override 'data.dims=" + String(repeating: "[", count: 50)
                        + "…' is nested more than 100 levels deep, the limit for configurations"
                ])

            let configs = directory.appendingPathComponent("configs")
            try FileManager.default.copyItem(
                at: packageRoot.appendingPathComponent("Sources/KandinskyExperiments/configs"),
                to: configs)
            let file = configs.appendingPathComponent("trainer/default.yaml")
            var bomb = "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
            for (name, previous) in zip("bcdefghi", "abcdefgh") {
                bomb +=
                    "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            }
            try (try String(contentsOf: file, encoding: .utf8) + bomb).write(
                to: file, atomically: true, encoding: .utf8)
            let exploding = try runKandinsky(["train", "--config-dir", configs.path], in: directory)
            #expect(exploding.status == 1)
            #expect(
                exploding.errorLines == [
                    "Error: \(file.path) holds more than 100000 values once its aliases and references are expanded, the limit for configurations"
                ])
            #expect(try Self.contents(directory).allSatisfy { $0.hasPrefix("configs") })
        }
    }

    @Test func usageErrorsAreOneLineWithStatus2() throws {
        let unknown = try runKandinsky(["train", "--bogus"])
        #expect(unknown.status == 2)
        #expect(unknown.errorLines == ["Error: Unknown option '--bogus'"])
        let missing = try runKandinsky(["calibrate-scores"])
        #expect(missing.status == 2)
        #expect(missing.errorLines == ["Error: Missing expected argument '--method <method>'"])
        // --probs and --targets may give way to --scores, so their absence is a validation error.
        let noInputs = try runKandinsky(["calibrate-scores", "--method", "pixel", "--out", "unused.safetensors"])
        #expect(noInputs.status == 2)
        #expect(noInputs.errorLines == ["Error: --probs: expected probabilities (a file, directory or pattern)"])
        let help = try runKandinsky(["train", "--help"])
        #expect(help.status == 0)
        #expect(help.outputLines.first == "OVERVIEW: Train the segmentation network (configs/train.yaml).")
        #expect(help.stderr.isEmpty)
    }

    @Test func helpConfigPrintsTheSchema() throws {
        let run = try runKandinsky(["help-config"])
        #expect(run.status == 0)
        #expect(run.outputLines.contains("data.batch_size: an integer in 1...1024"))
        #expect(run.outputLines.contains("calibration.curve_count: an integer in 2...1000, or null"))
        #expect(run.outputLines.contains("calibration.quantile: one of conformal, linear"))
        #expect(run.outputLines.contains("model.net.depth: an integer in 1...8"))
        #expect(run.outputLines.contains("  - model.net.out_channels is 1 + the number of data.categories"))
        let section = try runKandinsky(["help-config", "model.scheduler"])
        #expect(section.outputLines.count == 6)
        #expect(section.outputLines.first == "model.scheduler.T_0: an integer in 1...1000000")
        let none = try runKandinsky(["help-config", "nothing"])
        #expect(none.status == 2)
        #expect(none.errorLines == ["Error: no configuration key starts with 'nothing'"])
    }
}

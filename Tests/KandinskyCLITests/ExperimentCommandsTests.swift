import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// `kandinsky synth → train → calibrate → eval → predict` on a tiny dataset, through the tool.
@Suite(.serialized) final class ExperimentCommandsTests {
    /// The study root of each test (each test runs on an instance of its own), removed when the
    /// test ends.
    let root: URL

    init() throws {
        root = try scratchDirectory("experiments-cli")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var overrides: [String] {
        [
            "paths.root_dir=\(root.path)", "data.trainval_split=8", "data.dims=[32,32]", "data.batch_size=4",
            "model.net.channels=4", "model.net.depth=2", "trainer.max_epochs=1",
        ]
    }

    @Test func trainCalibrateEvaluatePredict() throws {
        let synth = try runKandinsky([
            "synth", "--out", root.appendingPathComponent("data/synthetic").path,
            "--train", "8", "--val", "4", "--cal", "12", "--test", "4", "--size", "40x30",
        ])
        #expect(synth.status == 0, "\(synth.stderr)")

        let train = try runKandinsky(["train"] + overrides)
        #expect(train.status == 0, "\(train.stderr)")
        let trainLine = try #require(train.outputLines.last)
        #expect(trainLine.hasPrefix("Finished: 1 epochs; last checkpoint "))
        let checkpoint = String(trainLine.dropFirst("Finished: 1 epochs; last checkpoint ".count))
        #expect(
            try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: checkpoint))["conv2.2.weight"]?.shape == [
                2, 2, 1, 1,
            ])

        let calibrate = try runKandinsky(
            ["calibrate", "ckpt_path=\(checkpoint)", "calibration.method=gen-ann", "calibration.max_generations=5"]
                + overrides)
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        let model = root.appendingPathComponent("logs/calibrate/runs/default/cmodel.safetensors")
        #expect(calibrate.outputLines.last == "Calibrated (gen-ann, 12 images): \(model.path)")
        let file = try SafetensorsFile.read(contentsOf: model)
        // gen-ann groups every class by default: four annuli, one curve each.
        #expect(file["nc_group_curves_class1"]?.shape == [101, 4] && file["group_labels_class1"]?.shape == [32, 32])
        #expect(file["nc_group_curves_class0"]?.shape == [101, 4] && file["nc_curves"] == nil)
        #expect(file.metadata["theta"] != nil && file.metadata["objective"] != nil)

        let evaluate = try runKandinsky(["eval", "ckpt_path=\(model.path)"] + overrides)
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.outputLines.last?.hasPrefix("Evaluated 4 test images: mean pixelwise ECE ") == true)
        #expect(evaluate.outputLines.last?.contains("; mean pixelwise CE ") == true)
        // The audit table comes first: a header and rows of both classes.
        #expect(
            evaluate.outputLines.contains {
                $0.hasPrefix("class") && $0.contains("per-image") && $0.contains("set size")
            })
        #expect(
            evaluate.outputLines.contains { $0.hasPrefix("0 ") } && evaluate.outputLines.contains { $0.hasPrefix("1 ") }
        )
        let ce = try NumpyFile.read(contentsOf: root.appendingPathComponent("logs/eval/runs/default/pixelwise_ce.npy"))
        #expect(ce.shape == [32, 32])

        let image = try #require(
            try FileManager.default.contentsOfDirectory(
                atPath: root.appendingPathComponent("data/synthetic/test/data").path
            ).sorted().first)
        let predict = try runKandinsky([
            "predict", "ckpt_path=\(model.path)", "image=\(root.path)/data/synthetic/test/data/\(image)",
            "paths.root_dir=\(root.path)", "data.dims=[32,32]", "alpha=0.2",
        ])
        #expect(predict.status == 0, "\(predict.stderr)")
        let stem = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
        let sets = try NumpyFile.read(contentsOf: root.appendingPathComponent("logs/predict/\(stem)_sets.npy"))
        #expect(sets.shape == [2, 32, 32])
        #expect(sets.elementType == .uint8)
    }

    @Test func configurationErrorsAreOneLine() throws {
        let unknown = try runKandinsky(["train", "data.batch_sise=3"], in: root)
        #expect(unknown.status != 0)
        #expect(
            unknown.errorLines == [
                "Error: unknown config key 'data.batch_sise'; did you mean 'data.batch_size'? (prefix it with '+' to add a new key)"
            ])
        let required = try runKandinsky(["calibrate"], in: root)
        #expect(required.status != 0)
        #expect(
            required.errorLines == [
                "Error: missing required value for 'ckpt_path': set it on the command line, e.g. ckpt_path=..."
            ])
        let environment = try runKandinsky(["train", "data=coco"], in: root)
        #expect(environment.errorLines.count == 1)
        #expect(environment.errorLines.first?.contains("environment variable DATA_TRAINVAL_ROOT is not set") == true)
        let missingData = try runKandinsky(["train", "paths.root_dir=\(root.path)/nowhere"])
        #expect(missingData.status != 0)
        #expect(missingData.errorLines.count == 1)
    }

    /// Ctrl-C (SIGINT) lets the batch finish, writes `interrupted.safetensors` and exits with 130.
    @Test func interruptingTrainingWritesACheckpointAndExits() throws {
        try synthesize()
        let training = try LaunchedProcess(kandinskyExecutable, ["train"] + longTraining)
        // Any epoch file: the oldest are deleted as training goes on (trainer.keep_last).
        try #require(
            training.wait(
                until: { self.checkpointFiles().contains { $0.lastPathComponent.hasPrefix("epoch_") } }, timeout: 300))
        training.send(SIGINT)
        #expect(training.wait(until: { !training.isRunning }, timeout: 120), "training went on after SIGINT")
        if training.isRunning { training.send(SIGKILL) }
        let run = try training.wait()
        #expect(run.status == 130, "\(run.stderr)")
        #expect(run.stderr.contains("interrupt received; finishing the current batch"))
        let line = try #require(run.outputLines.last)
        #expect(line.hasPrefix("Interrupted: ") && line.hasSuffix("/checkpoints/interrupted.safetensors"))
        let file = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: String(line.split(separator: " ").last!)))
        #expect(Int(file.metadata["trainer.epoch"] ?? "") ?? 0 >= 1)
        #expect(file["conv2.2.weight"]?.shape == [2, 2, 1, 1])
    }

    /// Killing training outright (SIGKILL: no handler runs) at various moments after a checkpoint
    /// leaves every checkpoint file complete, and training resumes from the last one.
    @Test func killedTrainingLeavesLoadableCheckpointsAndResumes() throws {
        try synthesize()
        var resumeArguments: [String] = []
        for delay: useconds_t in [0, 20_000, 70_000, 150_000] {
            let before = Set(checkpointFiles())
            func isNewLast(_ file: URL) -> Bool {
                !before.contains(file) && file.lastPathComponent == "last.safetensors"
            }
            let training = try LaunchedProcess(kandinskyExecutable, ["train"] + longTraining + resumeArguments)
            try #require(training.wait(until: { self.checkpointFiles().contains(where: isNewLast) }, timeout: 300))
            usleep(delay)
            training.send(SIGKILL)
            _ = try training.wait()
            for file in checkpointFiles() {
                #expect(throws: Never.self, "\(file.path)") { _ = try SafetensorsFile.read(contentsOf: file) }
            }
            let last = try #require(checkpointFiles().first(where: isNewLast))
            resumeArguments = ["ckpt_path=\(last.path)"]
        }
        let lastEpoch = try #require(
            Int(
                try SafetensorsFile.read(
                    contentsOf: URL(fileURLWithPath: String(resumeArguments[0].dropFirst("ckpt_path=".count)))
                )
                .metadata["trainer.epoch"] ?? ""))
        let resumed = try runKandinsky(
            ["train"] + overrides + resumeArguments + ["trainer.max_epochs=\(lastEpoch + 1)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.outputLines.last?.hasPrefix("Finished: ") == true)
    }

    /// A damaged image in the calibration split stops `calibrate` with one line naming the file,
    /// and no calibrated model is written.
    @Test func aCorruptCalibrationImageIsOneClearError() throws {
        try synthesize()
        let train = try runKandinsky(["train"] + overrides)
        try #require(train.status == 0, "\(train.stderr)")
        let checkpoint = try #require(checkpointFiles().first { $0.lastPathComponent == "last.safetensors" })
        let split = root.appendingPathComponent("data/synthetic/trainval/splits/t8/labels_cal.json")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: split)) as? [String: Any])
        let images = try #require(manifest["images"] as? [[String: Any]])
        let name = try #require(images.last?["file_name"] as? String)
        let image = root.appendingPathComponent("data/synthetic/trainval/data/\(name)")
        let bytes = try Data(contentsOf: image)
        try bytes.prefix(bytes.count / 3).write(to: image)

        let calibrate = try runKandinsky(
            ["calibrate", "ckpt_path=\(checkpoint.path)", "calibration.method=image"] + overrides)
        #expect(calibrate.status != 0)
        #expect(calibrate.errorLines.count == 1, "\(calibrate.stderr)")
        #expect(calibrate.errorLines.first?.contains(image.lastPathComponent) == true, "\(calibrate.stderr)")
        #expect(
            !FileManager.default.fileExists(
                atPath: root.appendingPathComponent("logs/calibrate/runs/default/cmodel.safetensors").path))
    }

    /// Overrides for a run that would go on far longer than the test lets it.
    private var longTraining: [String] { overrides + ["trainer.max_epochs=100000"] }

    private func synthesize() throws {
        let synth = try runKandinsky([
            "synth", "--out", root.appendingPathComponent("data/synthetic").path,
            "--train", "8", "--val", "4", "--cal", "12", "--test", "4", "--size", "40x30",
        ])
        try #require(synth.status == 0, "\(synth.stderr)")
    }

    /// Every visible file in the checkpoint folders of all training runs so far.
    private func checkpointFiles() -> [URL] {
        let runs = root.appendingPathComponent("logs/train/runs/default")
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
        return folders.flatMap { folder -> [URL] in
            let checkpoints = runs.appendingPathComponent(folder).appendingPathComponent("checkpoints")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.map { checkpoints.appendingPathComponent($0) }
        }
    }
}

import Foundation
import KandinskyCore
import KandinskyModels
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// `kandinsky export-weights`, checked against the state_dict of the original's UNet in PyTorch
/// (the committed fixture of scripts/fixtures/make_unet_state_dict_fixture.py).
@Suite struct ExportWeightsCommandTests {
    /// A training checkpoint after one Adam step of UNet(in 3, out 2, channels 4, depth 2), and a
    /// calibrated model of the same network laid out as `kandinsky calibrate` writes it: the
    /// weights, then the curves and group maps of format 3, with the metadata of both. Beside
    /// it, `cmodel.format2.safetensors` holds the curves as format 2 did. Runs `body` with the
    /// scratch directory holding them, their URLs and the network; the directory is removed
    /// afterwards.
    static func withSetUp(
        _ body: (_ directory: URL, _ checkpoint: URL, _ calibrated: URL, _ model: inout UNet) throws -> Void
    ) throws {
        try withScratchDirectory("export") { directory in
            var generator = SeededGenerator(seed: 11)
            var trainer = Trainer(
                model: UNet(inputChannels: 3, outputChannels: 2, channels: 4, depth: 2, using: &generator),
                schedule: CosineAnnealingWarmRestarts(baseLearningRate: 1e-3))
            let images = Tensor.uniform([2, 3, 8, 8], using: &generator)
            _ = try trainer.trainStep(
                images: images,
                targets: Tensor.uniform([2, 2, 8, 8], using: &generator).map { $0 > 0.5 ? Float(1) : 0 })
            var checkpoint = trainer.checkpoint()
            checkpoint.metadata["config"] = "seed: 1\n"
            checkpoint.metadata["kandinsky.kind"] = "training-checkpoint"
            let checkpointURL = directory.appendingPathComponent("last.safetensors")
            try checkpoint.write(to: checkpointURL)

            let labels = ShapedArray<Int32>(shape: [8, 8], scalars: (0..<64).map { Int32($0 % 3) })
            let curves = CalibratedCurves(
                curves: Tensor(shape: [3, 2, 8, 8], repeating: 0.5), method: "kmeans", calibrationImageCount: 2,
                groups: PixelGroups(labels: [nil, labels], groupCounts: [0, 3]))
            let calibratedURL = directory.appendingPathComponent("cmodel.safetensors")
            for (layout, url) in [
                (CalibratedCurves.FileLayout.perClass, calibratedURL),
                (.dense, directory.appendingPathComponent("cmodel.format2.safetensors")),
            ] {
                var calibrated = trainer.model.safetensorsFile()
                let file = curves.safetensors(layout: layout)
                calibrated.tensors += file.tensors
                calibrated.metadata.merge(file.metadata) { $1 }
                calibrated.metadata["kandinsky.kind"] = "calibrated-model"
                try calibrated.write(to: url)
            }
            try body(directory, checkpointURL, calibratedURL, &trainer.model)
        }
    }

    @Test func writesTheStateDictAloneFromACheckpointAndACalibratedModel() throws {
        try Self.withSetUp { directory, checkpoint, calibrated, model in
            let fixture = try UNetStateDictFixture.load()
            let expected = try #require(fixture.architecture(inChannels: 3, outChannels: 2, channels: 4, depth: 2))
                .stateDict
            #expect(
                try SafetensorsFile.read(contentsOf: checkpoint).tensors.contains { $0.name.hasPrefix("optimizer.") })
            var exports: [Data] = []
            let formatTwo = directory.appendingPathComponent("cmodel.format2.safetensors")
            #expect(try SafetensorsFile.read(contentsOf: calibrated)["nc_group_curves_class1"]?.shape == [3, 3])
            #expect(try SafetensorsFile.read(contentsOf: formatTwo)["nc_curves"]?.shape == [3, 2, 8, 8])
            for (input, name) in [
                (checkpoint, "from-checkpoint.safetensors"), (calibrated, "from-cmodel.safetensors"),
                (formatTwo, "from-cmodel-format2.safetensors"),
            ] {
                let out = directory.appendingPathComponent(name)
                let run = try runKandinsky(["export-weights", input.path, "--out", out.path])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(
                    run.outputLines == [
                        "Exported 26 tensors of UNet(in 3, out 2, channels 4, depth 2, dropout 0.0) to \(out.path); "
                            + "kandinsky infer reads it with --in-channels 3 --out-channels 2 --channels 4 --depth 2"
                    ])
                let file = try SafetensorsFile.read(contentsOf: out)
                // PyTorch's key set, dtypes and shapes, and nothing else: no metadata at all.
                #expect(file.stateDictEntries == expected.sorted { $0.name < $1.name })
                #expect(file.metadata.isEmpty)
                let bytes = try Data(contentsOf: out)
                #expect(!String(decoding: bytes.prefix(4096), as: UTF8.self).contains("__metadata__"))
                for (name, value) in model.stateDict() {
                    #expect(file[name]?.toTensor() == value, "\(name)")
                }
                exports.append(bytes)
            }
            #expect(exports[0] == exports[1] && exports[0] == exports[2])
            // Written atomically: no temporary is left beside the outputs.
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                    == [
                        "cmodel.format2.safetensors", "cmodel.safetensors", "from-checkpoint.safetensors",
                        "from-cmodel-format2.safetensors",
                        "from-cmodel.safetensors", "last.safetensors",
                    ])

            // The export records no architecture: infer takes the flags the command printed.
            let images = directory.appendingPathComponent("images.npy")
            let probabilities = directory.appendingPathComponent("probs.npy")
            var generator = SeededGenerator(seed: 12)
            let batch = Tensor.uniform([2, 3, 8, 8], using: &generator)
            try NumpyFile.write(.float32(batch), to: images)
            let exported = directory.appendingPathComponent("from-cmodel.safetensors").path
            let bare = try runKandinsky([
                "infer", "--model", exported, "--input", images.path, "--output", probabilities.path,
            ])
            #expect(
                bare.status == 2
                    && bare.errorLines.first?.hasSuffix("give --in-channels, --out-channels, --channels and --depth")
                        == true
            )
            let infer = try runKandinsky([
                "infer", "--model", exported, "--input", images.path, "--output", probabilities.path,
                "--in-channels", "3", "--out-channels", "2", "--channels", "4", "--depth", "2",
            ])
            #expect(infer.status == 0, "\(infer.stderr)")
            #expect(
                maxDifference(
                    try NumpyFile.read(contentsOf: probabilities).toTensor(),
                    model.forward(batch, training: false).sigmoid()) < 1e-6)
            // infer reads a calibrated model of either format as it is, its curves skipped.
            for input in [calibrated, formatTwo] {
                let direct = try runKandinsky([
                    "infer", "--model", input.path, "--input", images.path, "--output", probabilities.path,
                ])
                #expect(direct.status == 0, "\(direct.stderr)")
                #expect(
                    maxDifference(
                        try NumpyFile.read(contentsOf: probabilities).toTensor(),
                        model.forward(batch, training: false).sigmoid()) < 1e-6)
            }
        }
    }

    @Test func refusesAFileWithoutAnArchitectureAndItsOwnPath() throws {
        try Self.withSetUp { directory, checkpoint, _, _ in
            let plain = directory.appendingPathComponent("plain.safetensors")
            let exported = try runKandinsky(["export-weights", checkpoint.path, "--out", plain.path])
            #expect(exported.status == 0, "\(exported.stderr)")
            let again = try runKandinsky([
                "export-weights", plain.path, "--out", directory.appendingPathComponent("again.safetensors").path,
            ])
            #expect(again.status == 1)
            #expect(
                again.errorLines == [
                    "Error: \(plain.path): metadata: the file records no architecture, so it is no checkpoint or calibrated "
                        + "model of kandinsky (a file without metadata is plain weights already)"
                ])
            let before = try Data(contentsOf: checkpoint)
            let itself = try runKandinsky(["export-weights", checkpoint.path, "--out", checkpoint.path])
            #expect(itself.status == 2)
            #expect(
                itself.errorLines == ["Error: --out names the checkpoint itself; write the weights to another file"])
            #expect(try Data(contentsOf: checkpoint) == before)
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("again.safetensors").path))
        }
    }
}

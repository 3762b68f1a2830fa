import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyExperiments

/// A tiny synthetic study: 8 train, 4 val, 12 calibration and 4 test frames of about 40 × 30
/// pixels, resized to 32 × 32, and a UNet with 4 channels and depth 2, so runs take seconds in
/// a debug build.
struct TinyStudy {
    let root: URL

    /// Runs `body` with a study in a scratch directory, removed afterwards.
    static func with(_ body: (TinyStudy) throws -> Void) throws {
        try withScratchDirectory("runs") { root in try body(TinyStudy(root: root)) }
    }

    private init(root: URL) {
        self.root = root
    }

    var overrides: [String] {
        [
            "paths.root_dir=\(root.path)", "data.generator.train=8", "data.trainval_split=8", "data.generator.val=4",
            "data.generator.cal=12", "data.generator.test=4", "data.generator.width=40", "data.generator.height=30",
            "data.dims=[32,32]", "data.batch_size=4", "model.net.channels=4", "model.net.depth=2",
            "trainer.max_epochs=2",
        ]
    }

    /// The composed configuration; `predict` has no model or trainer section to override.
    func config(_ primary: String, _ extra: [String] = []) throws -> Config {
        let base =
            primary == "predict" ? overrides.filter { !$0.hasPrefix("model.") && !$0.hasPrefix("trainer.") } : overrides
        return try ConfigComposer.builtIn.compose(primary: primary, overrides: base + extra, environment: [:])
    }

    /// Generates the data (once) and returns the splits.
    func data() throws -> DataSplits {
        let config = try config("train")
        _ = try ExperimentData.prepare(config: config, progressStyle: .silent)
        return try ExperimentData.splits(config: config)
    }

    /// Trains with `extra` overrides and returns the run.
    func train(_ extra: [String] = []) throws -> TrainingRun.Result {
        try TrainingRun(config: try config("train", extra), data: try data()).run(progressStyle: .silent)
    }
}

private func weights(_ url: URL) throws -> [String: [Float]] {
    let file = try SafetensorsFile.read(contentsOf: url)
    var result: [String: [Float]] = [:]
    for (name, array) in file.tensors where !name.hasPrefix("optimizer.") {
        result[name] = array.toTensor().scalars
    }
    return result
}

/// The largest absolute difference between same-named weights.
private func maximumDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
    a.reduce(0) { worst, entry in
        guard let other = b[entry.key], other.count == entry.value.count else { return .infinity }
        return max(worst, zip(entry.value, other).map { abs($0 - $1) }.max() ?? 0)
    }
}

@Suite(.serialized) struct RunTests {
    @Test func trainingWritesMetricsCurvesAndCheckpoints() throws {
        try TinyStudy.with { study in
            let result = try study.train()
            #expect(!result.interrupted)
            #expect(RunDirectory.isComplete(result.directory))
            #expect(result.metrics.epochs.map(\.epoch) == [1, 2])
            let csv = try String(contentsOf: result.directory.appendingPathComponent("metrics.csv"), encoding: .utf8)
            #expect(csv.split(separator: "\n").count == 3)
            #expect(csv.hasPrefix("epoch,train_loss,val_loss,generalization_gap,val_dice_person,lr,seconds\n"))
            for name in [
                "config.yaml", "val_loss.svg", "val_dice.svg", "checkpoints/epoch_0001.safetensors",
                "checkpoints/epoch_0002.safetensors",
            ] {
                #expect(
                    FileManager.default.fileExists(atPath: result.directory.appendingPathComponent(name).path),
                    "\(name)")
            }
            let file = try SafetensorsFile.read(contentsOf: result.lastCheckpoint)
            #expect(file.metadata["trainer.epoch"] == "2")
            #expect(file["down_sample_layers.0.layers.0.weight"]?.shape == [4, 3, 3, 3])
            #expect(file["conv2.2.bias"]?.shape == [2])
            // The saved configuration composes back to the one the run used.
            let saved = try String(contentsOf: result.directory.appendingPathComponent("config.yaml"), encoding: .utf8)
            #expect(saved == (try study.config("train")).yaml)
        }
    }

    @Test func resumingGivesTheSameWeightsAsAnUninterruptedRun() throws {
        try TinyStudy.with { study in
            let straight = try study.train()
            let first = try study.train(["trainer.max_epochs=1"])
            let resumed = try study.train(["ckpt_path=\(first.lastCheckpoint.path)"])
            #expect(resumed.metrics.epochs.map(\.epoch) == [1, 2])
            let a = try weights(straight.lastCheckpoint)
            let b = try weights(resumed.lastCheckpoint)
            #expect(a.keys.sorted() == b.keys.sorted())
            // Bit for bit. (The three runs often start within the same second; before run folders
            // were made unique, the 1-epoch run overwrote the straight run's checkpoints then.)
            #expect(maximumDifference(a, b) == 0)
            // A different seed trains a different network.
            let other = try study.train(["seed=7"])
            #expect(maximumDifference(try weights(other.lastCheckpoint), a) > 1e-2)
            #expect(Set([straight, first, resumed, other].map(\.lastCheckpoint)).count == 4)
        }
    }

    /// keep_last 2 and keep_best 1 over 5 epochs leave the epochs 4 and 5 and the one with the
    /// lowest validation loss; last and best are those epochs' files under a second name.
    @Test func trainingKeepsTheNewestAndTheBestCheckpoints() throws {
        try TinyStudy.with { study in
            let result = try study.train([
                "trainer.max_epochs=5", "trainer.keep_last=2", "trainer.keep_best=1", "trainer.best_metric=val_loss",
            ])
            let losses = result.metrics.epochs.map(\.validationLoss)
            let bestEpoch = losses.indices.min { losses[$0] < losses[$1] }! + 1
            let best = try #require(result.bestCheckpoint)
            #expect(
                best.epoch == bestEpoch && best.value == losses[bestEpoch - 1] && best.metric == "val_loss"
                    && best.lowerIsBetter)
            let folder = result.directory.appendingPathComponent("checkpoints")
            let expected = Set(
                [bestEpoch, 4, 5].map { String(format: "epoch_%04d.safetensors", $0) } + [
                    "last.safetensors", "best.safetensors",
                ])
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == expected)
            #expect(
                try Data(contentsOf: best.url)
                    == Data(
                        contentsOf: folder.appendingPathComponent(String(format: "epoch_%04d.safetensors", bestEpoch))))
            #expect(
                try Data(contentsOf: result.lastCheckpoint)
                    == Data(contentsOf: folder.appendingPathComponent("epoch_0005.safetensors")))
            #expect(try SafetensorsFile.read(contentsOf: best.url).metadata["trainer.epoch"] == "\(bestEpoch)")
        }
    }

    /// A run that kept nothing but last.safetensors resumes to the same weights as an
    /// uninterrupted run.
    @Test func aPrunedRunResumesFromItsLastCheckpoint() throws {
        try TinyStudy.with { study in
            let straight = try study.train(["trainer.max_epochs=3", "trainer.keep_last=1", "trainer.keep_best=0"])
            #expect(straight.bestCheckpoint == nil)
            #expect(
                try FileManager.default.contentsOfDirectory(
                    atPath: straight.directory.appendingPathComponent("checkpoints").path
                ).sorted()
                    == ["epoch_0003.safetensors", "last.safetensors"])
            let first = try study.train(["trainer.max_epochs=2", "trainer.keep_last=0", "trainer.keep_best=0"])
            #expect(
                try FileManager.default.contentsOfDirectory(
                    atPath: first.directory.appendingPathComponent("checkpoints").path) == ["last.safetensors"])
            let resumed = try study.train(["trainer.max_epochs=3", "ckpt_path=\(first.lastCheckpoint.path)"])
            #expect(resumed.metrics.epochs.map(\.epoch) == [1, 2, 3])
            #expect(maximumDifference(try weights(straight.lastCheckpoint), try weights(resumed.lastCheckpoint)) == 0)
        }
    }

    @Test func interruptionWritesACheckpointAndStops() throws {
        try TinyStudy.with { study in
            Interruption.request()
            defer { Interruption.reset() }
            let result = try study.train()
            #expect(result.interrupted)
            #expect(!RunDirectory.isComplete(result.directory))
            #expect(result.lastCheckpoint.lastPathComponent == "interrupted.safetensors")
            #expect(try SafetensorsFile.read(contentsOf: result.lastCheckpoint).metadata["trainer.epoch"] == "0")
        }
    }

    @Test func calibrateEvaluateAndPredict() throws {
        try TinyStudy.with { study in
            let trained = try study.train()
            let checkpoint = trained.lastCheckpoint.path
            let calibration = try CalibrationRun(
                config: try study.config(
                    "calibrate", ["ckpt_path=\(checkpoint)", "calibration.method=kmeans", "data.cal_trim=10"]),
                data: try study.data()
            ).run(progressStyle: .silent)
            let file = try SafetensorsFile.read(contentsOf: calibration.calibratedModel)
            #expect(file["nc_group_curves_class1"]?.shape[0] == 101 && file["group_labels_class1"]?.shape == [32, 32])
            #expect(file["nc_curves"] == nil && file["kandinsky_mask"] == nil)
            #expect(file["down_sample_layers.0.layers.0.weight"] != nil)
            #expect(file.metadata["method"] == "kmeans")
            #expect(file.metadata["calibration_images"] == "10")
            #expect(
                file.metadata["source_checkpoint_sha256"]
                    == SHA256.hexDigest(try Data(contentsOf: trained.lastCheckpoint)))
            #expect(
                FileManager.default.fileExists(
                    atPath: calibration.directory.appendingPathComponent("kandinsky_mask.png").path))
            #expect(RunDirectory.isComplete(calibration.directory))

            let evaluation = try EvaluationRun(
                config: try study.config("eval", ["ckpt_path=\(calibration.calibratedModel.path)"]),
                data: try study.data()
            )
            .run(progressStyle: .silent)
            #expect(evaluation.summary.method == "kmeans")
            #expect(evaluation.summary.testImages == 4)
            #expect(evaluation.summary.meanPixelwiseCE.map { $0 >= 0 && $0 <= 1 } == true)
            // The audit covers every class, each (class, group) at the three default α.
            let audit = try #require(evaluation.summary.audit)
            #expect(Set(audit.map(\.classIndex)) == [0, 1])
            #expect(evaluation.summary.alphas == [0.2, 0.1, 0.05] && evaluation.summary.rule != nil)
            #expect(audit.count % 3 == 0 && audit.allSatisfy { $0.testImages <= 4 && $0.pixels > 0 })
            let ce = try NumpyFile.read(contentsOf: evaluation.directory.appendingPathComponent("pixelwise_ce.npy"))
            #expect(ce.shape == [32, 32])
            #expect(
                try NumpyFile.read(contentsOf: evaluation.directory.appendingPathComponent("coverages.npy")).shape == [
                    20
                ])
            // The files and the schema of `evaluate-scores` (one writer).
            for name in [
                "pixelwise_ece.png", "structure_frequency.npy", "coverage.svg", "pixel_coverage.svg",
                "reliability_pooled.svg",
                "reliability_pixel.svg", "reliability.json", "pixelwise_ce.png", "summary.json",
            ] {
                #expect(
                    FileManager.default.fileExists(atPath: evaluation.directory.appendingPathComponent(name).path),
                    "\(name)")
            }
            let json = try JSONSerialization.jsonObject(
                with: Data(contentsOf: evaluation.directory.appendingPathComponent("summary.json")))
            let keys = try #require(json as? [String: Any])
            #expect(
                keys["method"] as? String == "kmeans" && keys["test_images"] as? Int == 4
                    && keys["mean_pixelwise_ce"] is Double)
            #expect(keys["heat_map_range"] as? [Double] == [0, 0.25])
            #expect((keys["audit"] as? [[String: Any]])?.first?["per_image_coverage"] != nil)

            // A plain checkpoint gets only the uncalibrated diagnostics.
            let plain = try EvaluationRun(
                config: try study.config(
                    "eval", ["ckpt_path=\(checkpoint)", "paths.log_dir=\(study.root.path)/plain"]),
                data: try study.data()
            )
            .run(progressStyle: .silent)
            #expect(plain.summary.meanPixelwiseCE == nil)
            let plainJSON = try JSONSerialization.jsonObject(
                with: Data(contentsOf: plain.directory.appendingPathComponent("summary.json")))
            #expect(
                (plainJSON as? [String: Any])?["method"] is NSNull && (plainJSON as? [String: Any])?["audit"] is NSNull)
            #expect(
                !FileManager.default.fileExists(atPath: plain.directory.appendingPathComponent("pixelwise_ce.npy").path)
            )

            let testImage = study.root.appendingPathComponent("data/synthetic/test/data/000001.jpg")
            let image =
                FileManager.default.fileExists(atPath: testImage.path)
                ? testImage : study.root.appendingPathComponent("data/synthetic/test/data/000001.png")
            let prediction = try PredictionRun(
                config: try study.config(
                    "predict",
                    [
                        "ckpt_path=\(calibration.calibratedModel.path)", "image=\(image.path)",
                        "manifest=\(study.root.path)/data/synthetic/test/labels.json",
                    ])
            ).run()
            #expect(
                prediction.files.map(\.lastPathComponent) == [
                    "000001_set.png", "000001_overlay.png", "000001_panel.png", "000001_sets.npy",
                ])
            #expect(try NumpyFile.read(contentsOf: prediction.files[3]).shape == [2, 32, 32])
            #expect(prediction.setFraction >= 0 && prediction.setFraction <= 1)

            // The same model with its curves in format 2, as calibrated models were written before
            // format 3: the network loads from it, and predict and eval write the same files.
            var formatTwo = file
            formatTwo.tensors.removeAll { CalibrationRun.isCalibrationTensor($0.name) }
            let dense = calibration.curves.safetensors(layout: .dense)
            formatTwo.tensors += dense.tensors
            formatTwo.metadata.merge(dense.metadata) { _, format2 in format2 }
            let formatTwoModel = study.root.appendingPathComponent("cmodel.format2.safetensors")
            try formatTwo.write(to: formatTwoModel)
            #expect(formatTwo.metadata["format_version"] == "2" && formatTwo["nc_curves"]?.shape == [101, 2, 32, 32])
            let again = try PredictionRun(
                config: try study.config(
                    "predict",
                    [
                        "ckpt_path=\(formatTwoModel.path)", "image=\(image.path)",
                        "manifest=\(study.root.path)/data/synthetic/test/labels.json",
                        "output_dir=\(study.root.path)/predict-format2",
                    ])
            ).run()
            #expect(again.files.map(\.lastPathComponent) == prediction.files.map(\.lastPathComponent))
            for (a, b) in zip(prediction.files, again.files) {
                #expect(
                    try Data(contentsOf: a) == Data(contentsOf: b), "\(a.lastPathComponent) differs between the layouts"
                )
            }
            #expect(again.setFraction == prediction.setFraction)
            let evaluationTwo = try EvaluationRun(
                config: try study.config(
                    "eval",
                    [
                        "ckpt_path=\(formatTwoModel.path)",
                        "paths.log_dir=\(study.root.path)/eval-format2",
                    ]),
                data: try study.data()
            ).run(progressStyle: .silent)
            #expect("\(evaluationTwo.summary)" == "\(evaluation.summary)")
            for name in [
                "pixelwise_ce.npy", "coverages.npy", "pixelwise_ece.npy", "coverage.svg", "pixel_coverage.svg",
            ] {
                let a = evaluation.directory.appendingPathComponent(name)
                let b = evaluationTwo.directory.appendingPathComponent(name)
                #expect(try Data(contentsOf: a) == Data(contentsOf: b), "\(name) differs between the layouts")
            }
        }
    }

    @Test func badCheckpointsAreClearErrors() throws {
        try TinyStudy.with { study in
            let data = try study.data()
            let missing = #expect(throws: ExperimentError.self) {
                try CalibrationRun(
                    config: try study.config("calibrate", ["ckpt_path=/nonexistent/model.safetensors"]), data: data
                ).run(progressStyle: .silent)
            }
            #expect(missing?.description == "checkpoint /nonexistent/model.safetensors does not exist")
            #expect(missing?.kind == .missingFile)
            let trained = try study.train(["trainer.max_epochs=1"])
            let mismatch = #expect(throws: ExperimentError.self) {
                try CalibrationRun(
                    config: try study.config(
                        "calibrate", ["ckpt_path=\(trained.lastCheckpoint.path)", "model.net.channels=8"]), data: data
                )
                .run(progressStyle: .silent)
            }
            #expect(mismatch?.description.contains("channels") == true)
            #expect(mismatch?.kind == .invalidModel)
            let noCurves = #expect(throws: ExperimentError.self) {
                try PredictionRun(
                    config: try study.config("predict", ["ckpt_path=\(trained.lastCheckpoint.path)", "image=x.jpg"])
                ).run()
            }
            #expect(
                noCurves?.description.hasSuffix(
                    "holds no calibrated curves: calibrate it first with `kandinsky calibrate`")
                    == true)
            #expect(noCurves?.kind == .invalidCalibration)
            let required = #expect(throws: ConfigError.self) {
                try CalibrationRun(config: try study.config("calibrate"), data: data).run(progressStyle: .silent)
            }
            #expect(required == .missingValue("ckpt_path"))
        }
    }

    @Test func missingDataIsAClearError() throws {
        try TinyStudy.with { study in
            let error = #expect(throws: ExperimentError.self) {
                try ExperimentData.splits(config: try study.config("train"))
            }
            #expect(
                error?.description.contains(
                    "does not exist (run `kandinsky synth` or `kandinsky pipeline` to generate it)")
                    == true)
            #expect(error?.kind == .missingFile)
        }
    }

    @Test func calibrationSizesBeyondTheSplitStopThePipelineBeforeTraining() throws {
        try TinyStudy.with { study in
            let config = try study.config("pipeline", ["pipeline.calibration_sizes=[50,100]"])
            let error = #expect(throws: ExperimentError.self) {
                try Pipeline(
                    config: config, prepareData: { try ExperimentData.prepare(config: config, progressStyle: .silent) },
                    loadData: { try ExperimentData.splits(config: config) }
                ).run(progressStyle: .silent, log: { _ in })
            }
            #expect(
                error?.description
                    == "the calibration split has 12 images, fewer than every size in pipeline.calibration_sizes [50, 100]"
            )
            #expect(error?.kind == .inconsistentSettings)
            #expect(!FileManager.default.fileExists(atPath: study.root.appendingPathComponent("logs").path))
        }
    }

    @Test func pipelineWritesTheReport() throws {
        try TinyStudy.with { study in
            let config = try study.config(
                "pipeline",
                [
                    "trainer.max_epochs=1", "pipeline.calibration_sizes=[4,12,50]", "pipeline.draws.small=3",
                    "pipeline.draws.large=2", "pipeline.draws.small_size_limit=4", "calibration.max_generations=5",
                    "pipeline.example_images=2", "pipeline.linear_sizes=[4]",
                    "pipeline.coverage_alphas=[0.1,0.05]",
                ])
            var lines: [String] = []
            let directory = try Pipeline(
                config: config, prepareData: { try ExperimentData.prepare(config: config, progressStyle: .silent) },
                loadData: { try ExperimentData.splits(config: config) }
            )
            .run(progressStyle: .silent, log: { lines.append($0) })
            let summary = try JSONDecoder().decode(
                StudySummary.self, from: Data(contentsOf: directory.appendingPathComponent("summary.json")))
            #expect(summary.strategies == ["pixel", "image", "kmeans", "gen-ann"])
            // 50 exceeds the 12 calibration images and is skipped.
            #expect(summary.calibrationSizes == [4, 12])
            #expect(summary.cell("kmeans", 4)?.meanPixelCE.count == 3)
            // 12 is the whole calibration split: every draw would be the same, so there is one.
            #expect(summary.cell("kmeans", 12)?.meanPixelCE.count == 1)
            #expect(
                lines.contains(
                    "At 12 images every draw is the whole calibration split, the same calibration: it is calibrated once, and the report's calls there have no interval"
                ))
            #expect(summary.cells.allSatisfy { $0.meanPixelCE.allSatisfy { $0 >= 0 && $0 <= 1 } })
            // Paired: every strategy at a size saw the same draws, and the draws differ.
            for size in [4, 12] {
                let seeds = summary.strategies.map { summary.cell($0, size)?.drawSeeds }
                #expect(seeds.allSatisfy { $0 != nil && $0 == seeds[0] }, "\(size): \(seeds)")
                #expect(Set(seeds[0] ?? []).count == (size == 4 ? 3 : 1))
            }
            #expect(
                summary.cell("pixel", 4)?.drawSeeds?.first == Pipeline.drawSeed(size: 4, draw: 0, seed: summary.seed))
            // 2 sizes × (2 Kandinsky strategies × 2 baselines + pixel against image).
            #expect(summary.comparisons.count == 10)
            for cell in summary.cells {
                #expect(cell.sets?.map(\.alpha) == [0.1, 0.05])
                for audit in cell.sets ?? [] {
                    #expect(audit.perImageCoverage.count == cell.meanPixelCE.count)
                    #expect(audit.perImageCoverage.allSatisfy { $0 >= 0 && $0 <= 1 })
                    #expect(audit.meanSetSize.allSatisfy { $0 >= 0 && $0 <= 2 })
                    #expect(audit.alwaysInShare.allSatisfy { $0 >= 0 && $0 <= 1 })
                }
            }
            // Grouped strategies audit the evaluated class per group × 2 α, one value per draw: gen-ann's
            // 4 annuli; k-means's 4 clusters, plus group 4 when some pixels had no score to cluster.
            for strategy in ["kmeans", "gen-ann"] {
                for size in [4, 12] {
                    let groups = summary.cell(strategy, size)?.groupSets ?? []
                    #expect(
                        groups.count == 8 || (strategy == "kmeans" && groups.count == 10),
                        "\(strategy) n=\(size): \(groups.map { ($0.alpha, $0.group) })")
                    #expect(
                        groups.allSatisfy {
                            $0.perImageCoverage.count == (size == 4 ? 3 : 1)
                                && $0.pixelShare.count == $0.perImageCoverage.count
                        })
                    // The groups partition the image: their shares add up to 1 in every draw.
                    for draw in 0..<(size == 4 ? 3 : 1) {
                        let total = groups.filter { $0.alpha == 0.1 }.map { $0.pixelShare[draw] ?? 0 }.reduce(0, +)
                        #expect(abs(total - 1) < 1e-9, "\(strategy) n=\(size) draw \(draw): \(total)")
                    }
                }
            }
            #expect(summary.cell("pixel", 4)?.groupSets == nil && summary.cell("image", 4)?.groupSets == nil)
            // The linear rule at 4 images, on the same draws as the conformal cells.
            let linear = summary.linearCells ?? []
            #expect(linear.map(\.strategy) == ["pixel", "image", "kmeans", "gen-ann"])
            #expect(
                linear.allSatisfy {
                    $0.calibrationImages == 4 && $0.drawSeeds == summary.cell($0.strategy, 4)?.drawSeeds
                })
            #expect(summary.tieMargin == 0.01)
            // One calibrated model per strategy at the smallest and the largest size, readable as such.
            #expect(summary.calibratedModels?.count == 8)
            for name in summary.calibratedModels ?? [] {
                let file = try SafetensorsFile.read(contentsOf: directory.appendingPathComponent(name))
                #expect(file.metadata["kandinsky.kind"] == "calibrated-model", "\(name)")
                #expect(CalibratedCurves.holdsCurves(file), "\(name)")
            }
            #expect(summary.training.count == 1)
            #expect(summary.stageOrder.first == "generate data")
            #expect(summary.stageOrder.contains("calibrate gen-ann (linear)"))
            let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
            #expect(html.contains("data:image/png;base64,"))
            #expect(html.contains("Verdict:"))
            #expect(html.contains("Paired differences and calls"))
            #expect(html.contains("per-image coverage"))
            for section in [
                "Marginal coverage error", "Coverage within the Kandinsky groups", "What the conformal rule changes",
                "Calibrated models",
            ] {
                #expect(html.contains("<h2>\(section)</h2>"), "\(section)")
            }
            #expect(html.contains("CE(h, w) = (1/20) Σ_i |ĉ_i(h, w) − γ_i|"))
            #expect(lines.last?.hasPrefix("Report: ") == true)
            for name in ["ce_map_gen-ann-n4.png", "mask_kmeans-n12.png", "sets_pixel-n12.png", "report.md"] {
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), "\(name)")
            }
        }
    }

    @Test func drawSettingsOutOfRangeAreOneLineNamingTheKey() throws {
        try TinyStudy.with { study in
            // Refused when the configuration is composed, before any work (the schema's ranges).
            for (override, message) in [
                ("pipeline.draws.small=0", "config key 'pipeline.draws.small' is 0, expected an integer in 1...1000"),
                (
                    "pipeline.draws.large=1001",
                    "config key 'pipeline.draws.large' is 1001, expected an integer in 1...1000"
                ),
                (
                    "pipeline.draws.small_size_limit=-1",
                    "config key 'pipeline.draws.small_size_limit' is -1, expected an integer ≥ 0"
                ),
                ("pipeline.coverage_alphas=[0.1,1.5]", "config key 'pipeline.coverage_alphas' is [0.1, 1.5], expected"),
                ("pipeline.tie_margin=-0.01", "config key 'pipeline.tie_margin' is -0.01, expected"),
                ("pipeline.linear_sizes=[0]", "config key 'pipeline.linear_sizes' is [0], expected"),
            ] {
                let error = #expect(throws: ConfigError.self) { try study.config("pipeline", [override]) }
                #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "no error")")
            }
            let defaults = try Pipeline.Settings(config: try study.config("pipeline"))
            #expect((defaults.smallDraws, defaults.largeDraws, defaults.smallLimit) == (20, 5, 200))
            #expect(defaults.tieMargin == 0.01 && defaults.linearSizes == [10, 20, 50])
            #expect(defaults.outputDirectory.path.hasSuffix("/pipeline/synthetic"))
            #expect(defaults.draws(at: 200) == 20)
            #expect(defaults.draws(at: 201) == 5)
        }
    }
}

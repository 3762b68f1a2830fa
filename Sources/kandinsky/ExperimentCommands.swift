import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyExperiments

/// The options shared by the configuration-driven commands: `key=value` overrides and a config
/// directory.
struct ExperimentOptions: ParsableArguments {
    @Option(
        help:
            "A directory of configs laid out like the built-in ones (train.yaml, data/, model/, experiment/, …); the built-in configs by default."
    )
    var configDir: String?

    @Argument(
        help: ArgumentHelp(
            "Configuration overrides: experiment=NAME, group=option (data=coco), dotted keys (data.batch_size=8), +new.key=value; `kandinsky help-config` lists the keys and their ranges.",
            valueName: "key=value"))
    var overrides: [String] = []

    func compose(_ primary: String) throws -> Config {
        let composer = configDir.map { ConfigComposer(directory: URL(fileURLWithPath: $0)) } ?? .builtIn
        return try composer.compose(primary: primary, overrides: overrides)
    }

    /// The configuration `primary`, checked to have every required value, and its data splits.
    func completeConfigAndData(_ primary: String) throws -> (Config, DataSplits) {
        let config = try compose(primary)
        try config.requireComplete()
        return (config, try ExperimentData.splits(config: config))
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the segmentation network (configs/train.yaml).",
        discussion:
            "Writes logs/train/runs/<experiment>/<timestamp>/ with config.yaml, metrics.csv, loss and Dice curves and checkpoints/: last.safetensors, best.safetensors (by trainer.best_metric) and the epoch_NNNN.safetensors that trainer.keep_last and trainer.keep_best keep. ckpt_path=… resumes; Ctrl-C finishes the batch and writes a checkpoint."
    )

    @OptionGroup var options: ExperimentOptions

    func run() throws {
        let config = try options.compose("train")
        Interruption.install()
        let result = try TrainingRun(config: config, data: try ExperimentData.splits(config: config)).run()
        if let best = result.bestCheckpoint {
            print(
                "Best checkpoint by \(best.metric) (\(best.lowerIsBetter ? "lowest" : "highest")): epoch \(best.epoch), "
                    + "\(String(format: "%.6g", best.value)); \(best.url.path)")
        }
        print(
            "\(result.interrupted ? "Interrupted" : "Finished"): \(result.metrics.epochs.count) epochs; last checkpoint \(result.lastCheckpoint.path)"
        )
        if result.interrupted { throw ExitCode(130) }
    }
}

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Calibrate a trained network on the calibration split (configs/calibrate.yaml).",
        discussion:
            "Writes logs/calibrate/runs/<experiment>/cmodel.safetensors: the weights, the curves (per class nc_curves_class<c> [Q, H, W], or for grouped classes group_labels_class<c> [H, W] with nc_group_curves_class<c> [Q, G]) and metadata."
    )

    @OptionGroup var options: ExperimentOptions

    func run() throws {
        let (config, data) = try options.completeConfigAndData("calibrate")
        let result = try CalibrationRun(config: config, data: data).run()
        print(
            "Calibrated (\(result.curves.method), \(result.curves.calibrationImageCount) images): \(result.calibratedModel.path)"
        )
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint or calibrated model on the test split (configs/eval.yaml).",
        discussion:
            "Writes logs/eval/runs/<experiment>/ the same files as evaluate-scores: the pixelwise ECE map, structure frequency and reliability diagrams; with a calibrated model's curves also the coverage diagrams (marginal and at evaluation.reliability_pixel), the pixelwise CE map, and in summary.json the curves' quantile rule and the per-class, per-group audit at evaluation.alphas (coverage with 95 % intervals, set sizes, always-in pixels; also printed as a table). evaluation.precision also sets the ECE binning."
    )

    @OptionGroup var options: ExperimentOptions

    func run() throws {
        let (config, data) = try options.completeConfigAndData("eval")
        let (directory, summary) = try EvaluationRun(config: config, data: data).run()
        var line = String(
            format: "Evaluated %d test images: mean pixelwise ECE %.4f", summary.testImages, summary.meanPixelwiseECE)
        if let ce = summary.meanPixelwiseCE, let marginal = summary.marginalCE {
            line += String(format: "; mean pixelwise CE %.4f, marginal CE %.4f", ce, marginal)
        }
        if let audit = summary.audit {
            print("Audit (\(summary.rule ?? "unknown") curves):")
            print(CoverageAudit.table(audit))
        }
        print(line + "; results in \(directory.path)")
    }
}

struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract:
            "Run the whole study: data, training, calibration with every strategy at several sizes, evaluation and a report (configs/pipeline.yaml).",
        discussion:
            "With no arguments it uses the built-in synthetic dataset of person-like scenes (generated under data/synthetic when absent) and writes logs/pipeline/synthetic/report.html, report.md and summary.json (logs/pipeline/<data.name>/ in general). data=synthetic-anatomy runs the same study on the built-in anatomy-like dataset (CT-slice-like frames, generated under data/synthetic-anatomy), data=coco on COCO-format data (DATA_TRAINVAL_ROOT, DATA_TEST_ROOT)."
    )

    @OptionGroup var options: ExperimentOptions

    func run() throws {
        let config = try options.compose("pipeline")
        Interruption.install()
        try Pipeline(
            config: config,
            prepareData: { try ExperimentData.prepare(config: config) },
            loadData: { try ExperimentData.splits(config: config) }
        ).run()
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Prediction sets for one image from a calibrated model (configs/predict.yaml).",
        discussion:
            "Example: kandinsky predict ckpt_path=cmodel.safetensors image=photo.jpg alpha=0.1 [manifest=labels.json]. Writes the set mask, an overlay and a panel as PNG, and the sets as .npy, into logs/predict/."
    )

    @OptionGroup var options: ExperimentOptions

    func run() throws {
        let result = try PredictionRun(config: try options.compose("predict")).run()
        print(
            String(
                format: "The prediction set holds the class at %.1f%% of the pixels; wrote ", 100 * result.setFraction)
                + result.files.map(\.path).joined(separator: ", "))
    }
}

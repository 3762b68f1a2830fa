import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyModels
import KandinskyPlots

/// `kandinsky calibrate`: runs a trained network on the calibration split (a seeded subset of
/// `data.cal_trim` images), builds the curves with the configured grouping and writes into
/// `logs/calibrate/runs/<experiment>/`:
/// - `cmodel.safetensors`: the network's weights (PyTorch names, architecture metadata) plus the
///   calibrated-model tensors and metadata of `CalibratedCurves` (format 3: per class
///   `nc_curves_class{c}` [Q, H, W], or `group_labels_class{c}` [H, W] and
///   `nc_group_curves_class{c}` [Q, G] when pixels are grouped), and `source_checkpoint`,
///   `source_checkpoint_sha256` and the resolved `config`;
/// - `kandinsky_mask.png` (grouped strategies) and `curves.svg` (the curves of a few pixels);
/// - `COMPLETE`, written last: a folder without it holds a killed or failed run.
public struct CalibrationRun {
    /// The composed `calibrate` configuration.
    public let config: Config
    /// The splits; only the calibration split is used.
    public let data: DataSplits

    /// A run of `config` on `data`.
    public init(config: Config, data: DataSplits) {
        self.config = config
        self.data = data
    }

    /// The outcome of a run.
    public struct Result: Sendable {
        /// The run directory.
        public var directory: URL
        /// The written `cmodel.safetensors`.
        public var calibratedModel: URL
        /// The calibrated curves.
        public var curves: CalibratedCurves
    }

    /// Loads `ckpt_path`, runs it on the calibration subset, calibrates and writes the files above.
    ///
    /// - Throws: ``ConfigError`` or ``ExperimentError`` naming the bad key, file or value.
    public func run(progressStyle: ProgressReporter.Style = .automatic) throws -> Result {
        try config.requireComplete()
        let checkpointPath = try config.requiredCheckpoint()
        var model = try Self.loadModel(checkpointPath, config: config)
        let settings = try CalibrationSettings(config: config)
        let calibrationSet = data.calibration
        let trim = try config.value(\.data.calibrationTrim) ?? calibrationSet.count
        guard trim >= 1 else { throw ExperimentError.inconsistent("the calibration split has no images") }
        var generator = SeededGenerator(seed: try config.value(\.seed))
        let outputs = try NetworkOutputs(
            model: &model,
            dataset: calibrationSet.randomSubset(count: min(trim, calibrationSet.count), using: &generator),
            batchSize: try config.value(\.data.batchSize),
            title: "calibration images", progressStyle: progressStyle)
        let curves = try Self.calibrate(outputs, settings: settings)

        let directory = try RunDirectory(config: config, task: "calibrate", timestamped: false)
        let output = directory.file("cmodel.safetensors")
        try Self.writeCalibratedModel(curves, model: &model, checkpoint: checkpointPath, config: config, to: output)
        if let mask = curves.groups.labels.compactMap({ $0 }).first {
            try directory.write(Self.maskPNG(mask), to: "kandinsky_mask.png")
        }
        let chartClass = min(try config.optionalInt("class_idx") ?? 1, curves.classCount - 1)
        try directory.write(Data(Self.curveChart(curves, classIndex: max(chartClass, 0)).svg.utf8), to: "curves.svg")
        try directory.markComplete()
        return Result(directory: directory.url, calibratedModel: output, curves: curves)
    }

    /// Writes a calibrated model: the network's weights (PyTorch names, architecture metadata)
    /// followed by the tensors and metadata of `curves`, plus `source_checkpoint`, its SHA-256,
    /// the resolved `config` and `kandinsky.kind = calibrated-model`; `kandinsky predict` and
    /// `predict-sets` read it as it is.
    static func writeCalibratedModel(
        _ curves: CalibratedCurves, model: inout UNet, checkpoint: String, config: Config,
        to output: URL
    ) throws {
        var file = curves.safetensors
        let weights = model.safetensorsFile()
        file.tensors = weights.tensors + file.tensors
        file.metadata.merge(weights.metadata) { calibration, _ in calibration }
        file.metadata["source_checkpoint"] = checkpoint
        file.metadata["source_checkpoint_sha256"] = try SHA256.hexDigest(ofFile: URL(fileURLWithPath: checkpoint))
        file.metadata["config"] = config.yaml
        file.metadata["kandinsky.kind"] = "calibrated-model"
        do { try file.write(to: output) } catch { throw ExperimentError.cannotWrite(output.path, error) }
    }

    /// Calibrates network outputs with the configured strategy.
    static func calibrate(_ outputs: NetworkOutputs, settings: CalibrationSettings) throws -> CalibratedCurves {
        try ExperimentError.wrapping {
            let scores = try ScoreStore(
                probabilities: outputs.probabilities, targets: outputs.targets, precision: settings.precision)
            return try settings.calibrate(scores)
        }
    }

    /// The network stored in a checkpoint or calibrated model, checked against the architecture
    /// of the configuration's `model.net` (see ``ModelSettings``).
    static func loadModel(_ path: String, config: Config) throws -> UNet {
        try loadModel(path, expected: try ModelSettings(config: config).architecture)
    }

    /// The network stored in a checkpoint or calibrated model, checked against the configured
    /// architecture (nil: the architecture recorded in the file).
    static func loadModel(_ path: String, expected: UNet.Architecture?) throws -> UNet {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExperimentError.missingFile("checkpoint \(path) does not exist")
        }
        var file = try ExperimentError.wrapping { try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: path)) }
        // A calibrated model carries its curves beside the weights.
        file.tensors.removeAll { isCalibrationTensor($0.name) }
        return try ExperimentError.wrapping {
            guard let architecture = try UNet.Architecture(metadata: file.metadata, file: path) ?? expected else {
                throw ExperimentError(
                    "\(path) records no architecture; give model.net.* in the configuration", kind: .invalidModel)
            }
            if let expected, architecture != expected {
                throw ExperimentError(
                    "\(path) holds a \(architecture), but the configuration asks for a \(expected) (set model.net.* to match)",
                    kind: .invalidModel)
            }
            var generator = SeededGenerator(seed: 0)
            var model = UNet(architecture, using: &generator)
            try model.load(file, path: path)
            return model
        }
    }

    /// Whether a tensor of a calibrated model is one of the curves' (in any format of
    /// ``CalibratedCurves``: `nc_curves_class{c}`, `nc_group_curves_class{c}`,
    /// `group_labels_class{c}`, or format 2's `nc_curves`, `group_labels`, `kandinsky_mask`)
    /// rather than a network weight.
    package static func isCalibrationTensor(_ name: String) -> Bool {
        CalibratedCurves.isCurvesTensor(named: name)
    }

    /// The group map as a colour-mapped PNG (one colour per group id).
    static func maskPNG(_ labels: ShapedArray<Int32>) -> Data {
        let groups = labels.withUnsafeBufferPointer { Int($0.max() ?? 0) }
        return HeatMap(range: 0...Float(max(groups, 1)), title: "Kandinsky groups").png(labels.map { Float($0) })
    }

    /// The curves of the centre pixel, a corner pixel and (for grouped classes) each group.
    static func curveChart(_ curves: CalibratedCurves, classIndex c: Int) -> LineChart {
        let levels = curves.levels
        var pixels: [(String, Int, Int)] = [("centre", curves.height / 2, curves.width / 2), ("corner", 0, 0)]
        if c < curves.groups.labels.count, let labels = curves.groups.labels[c] {
            let count = curves.groups.groupCounts[c]
            labels.withUnsafeBufferPointer { l in
                for group in 0..<count {
                    if let p = l.firstIndex(of: Int32(group)) {
                        pixels.append(("group \(group)", p / curves.width, p % curves.width))
                    }
                }
            }
        }
        return LineChart(
            title: "Non-conformity curves (class \(c))", xLabel: "level", yLabel: "score threshold",
            series: pixels.map { name, h, w in
                .init(name: name, points: levels.indices.map { k in (levels[k], Double(curves.curves[k, c, h, w])) })
            })
    }
}

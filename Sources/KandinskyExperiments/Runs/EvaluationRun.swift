import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyModels

/// `kandinsky eval`: runs a checkpoint on the test split and writes into
/// `logs/eval/runs/<experiment>/` the files of `EvaluationFiles`, as `kandinsky
/// evaluate-scores` does: the uncalibrated diagnostics always, the coverage diagnostics and the
/// `CoverageAudit` rows (every class, every group, every α of
/// `evaluation.alphas`) when the checkpoint holds calibrated curves, and `summary.json`
/// (``EvaluationSummary``). The pixelwise diagrams are at `evaluation.reliability_pixel`.
///
/// The ECE bins as `evaluation.precision` says (`ProbabilityCalibration.precision`).
/// - `COMPLETE`, written last.
public struct EvaluationRun {
    /// The composed `eval` configuration.
    public let config: Config
    /// The splits; only the test split is used.
    public let data: DataSplits

    /// A run of `config` on `data`.
    public init(config: Config, data: DataSplits) {
        self.config = config
        self.data = data
    }

    /// The numbers written to `summary.json`.
    public typealias Summary = EvaluationSummary

    /// Runs `ckpt_path` on the test split and writes the files above.
    ///
    /// - Throws: ``ConfigError`` or ``ExperimentError`` naming the bad key, file or value.
    public func run(progressStyle: ProgressReporter.Style = .automatic) throws -> (directory: URL, summary: Summary) {
        try config.requireComplete()
        let checkpointPath = try config.requiredCheckpoint()
        let settings = try EvaluationSettings(config: config)
        var model = try CalibrationRun.loadModel(checkpointPath, config: config)
        let curves = try Self.curves(in: checkpointPath)
        let outputs = try NetworkOutputs(
            model: &model, dataset: data.test, batchSize: try config.value(\.data.batchSize),
            title: "test images", progressStyle: progressStyle)
        let directory = try RunDirectory(config: config, task: "eval", timestamped: false)
        let summary = try Self.evaluate(outputs, curves: curves, settings: settings, into: directory)
        try directory.markComplete()
        return (directory.url, summary)
    }

    /// The curves of a calibrated model, or nil for a plain checkpoint.
    static func curves(in path: String) throws -> CalibratedCurves? {
        let file = try ExperimentError.wrapping { try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: path)) }
        guard CalibratedCurves.holdsCurves(file) else { return nil }
        return try ExperimentError.wrapping { try CalibratedCurves(safetensors: file, source: path) }
    }

    /// Writes every diagnostic of `outputs` (and of `curves`, when given) into `directory`.
    static func evaluate(
        _ outputs: NetworkOutputs, curves: CalibratedCurves?, settings: EvaluationSettings,
        into directory: RunDirectory
    ) throws -> Summary {
        let files = try ExperimentError.wrapping {
            try EvaluationFiles(
                curves, probabilities: outputs.probabilities, targets: outputs.targets, settings: settings)
        }
        try files.write(into: directory.url)
        return files.summary
    }
}

/// The `evaluation:` section of a configuration.
package struct EvaluationSettings: Sendable {
    /// The class evaluated (`evaluation.class_idx`).
    package var classIndex: Int
    /// K, the confidence bins of the coverage error (`evaluation.bins`).
    package var bins: Int
    /// How confidences are read off the curves (`evaluation.indexing`); nil (`auto`) for the
    /// curves' own.
    package var indexing: ThresholdIndexing?
    /// How test scores are computed (`evaluation.precision`).
    package var precision: ScorePrecision
    /// Bins of the probability ECE (`evaluation.ece_bins`).
    package var eceBins: Int
    /// The pixel of the pixelwise diagrams (`evaluation.reliability_pixel`); nil for the image centre.
    package var reliabilityPixel: (h: Int, w: Int)?
    /// The miscoverage levels α of the audit (`evaluation.alphas`), each in (0, 1).
    package var alphas: [Double]

    /// The settings of `kandinsky evaluate-scores`, whose options name the same values.
    package init(
        classIndex: Int, bins: Int, indexing: ThresholdIndexing?, precision: ScorePrecision, eceBins: Int,
        reliabilityPixel: (h: Int, w: Int)?, alphas: [Double]
    ) {
        self.classIndex = classIndex
        self.bins = bins
        self.indexing = indexing
        self.precision = precision
        self.eceBins = eceBins
        self.reliabilityPixel = reliabilityPixel
        self.alphas = alphas
    }

    /// Reads the section, every value checked against the configuration schema (`kandinsky help-config`).
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    package init(config: Config) throws {
        try ConfigSchema.checkConditions(config)
        classIndex = try config.value(\.evaluation.classIndex)
        bins = try config.value(\.evaluation.bins)
        indexing = try config.value(\.evaluation.indexing).indexing
        precision = try config.value(\.evaluation.precision)
        eceBins = try config.value(\.evaluation.eceBins)
        alphas = try config.value(\.evaluation.alphas)
        reliabilityPixel = try config.value(\.evaluation.reliabilityPixel).map { ($0[0], $0[1]) }
    }
}

import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyModels

/// `kandinsky eval`: runs a checkpoint on the test split and writes into
/// `logs/eval/runs/<experiment>/`:
/// - always (the uncalibrated diagnostics): `pixelwise_ece.npy` and `.png` (binned ECE of the
///   probabilities at each pixel), `structure_frequency.npy` and `.png`, and
///   `reliability_pooled.svg`, `reliability_pixel.svg`;
/// - when the checkpoint holds calibrated curves (a calibrated model): `coverage.svg` (marginal coverage against
///   confidence), `pixel_coverage.svg` (at `evaluation.reliability_pixel`), `pixelwise_ce.npy`
///   and `.png`, `coverages.npy`;
/// - `summary.json` with the mean ECE and, with curves, the mean pixelwise and marginal CE, the
///   curves' quantile rule and the ``KandinskyCalibration/CoverageAudit`` rows (every class, every group, every α of
///   `evaluation.alphas`).
///
/// The ECE bins as `evaluation.precision` says (``KandinskyCalibration/ProbabilityCalibration/precision``).
/// - `COMPLETE`, written last (see ``RunDirectory``).
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
    public struct Summary: Codable, Sendable, Equatable {
        /// The number of test images.
        public var testImages: Int
        /// The mean over pixels of the binned ECE of the raw probabilities.
        public var meanPixelwiseECE: Double
        /// The calibration method of the curves, nil for a checkpoint without curves.
        public var method: String?
        /// The mean pixelwise coverage error, nil without curves.
        public var meanPixelwiseCE: Double?
        /// The marginal coverage error, nil without curves.
        public var marginalCE: Double?
        /// The marginal coverage at each bin's confidence, nil without curves.
        public var marginalCoverages: [Double]?
        /// The curves' quantile rule (``KandinskyCalibration/QuantileRule``), nil without curves.
        public var rule: String?
        /// The α levels of the audit, nil without curves.
        public var alphas: [Double]?
        /// The audit of the prediction sets (``KandinskyCalibration/CoverageAudit``), nil without curves.
        public var audit: [CoverageAudit.Row]?
    }

    /// Runs `ckpt_path` on the test split and writes the files above.
    ///
    /// - Throws: ``ConfigError`` or ``ExperimentError`` naming the bad key, file or value.
    public func run(progressStyle: ProgressReporter.Style = .automatic) throws -> (directory: URL, summary: Summary) {
        try config.requireComplete()
        let checkpointPath = try config.requiredCheckpoint()
        let settings = try EvaluationSettings(config: config)
        var model = try CalibrationRun.loadModel(checkpointPath, expected: try ModelSettings(config: config).architecture)
        let curves = try Self.curves(in: checkpointPath)
        let outputs = try NetworkOutputs(model: &model, dataset: data.test, batchSize: try config.value(\.data.batchSize),
                                         title: "test images", progressStyle: progressStyle)
        let directory = try RunDirectory(config: config, task: "eval", timestamped: false)
        let summary = try Self.evaluate(outputs, curves: curves, settings: settings, into: directory)
        try directory.markComplete()
        return (directory.url, summary)
    }

    /// The curves of a calibrated model, or nil for a plain checkpoint.
    static func curves(in path: String) throws -> CalibratedCurves? {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExperimentError(error.description)
        }
        guard CalibratedCurves.holdsCurves(file) else { return nil }
        do { return try CalibratedCurves(safetensors: file, source: path) } catch { throw ExperimentError(error.description) }
    }

    /// Writes every diagnostic of `outputs` (and of `curves`, when given) into `directory`.
    static func evaluate(_ outputs: NetworkOutputs, curves: CalibratedCurves?, settings: EvaluationSettings,
                         into directory: RunDirectory) throws -> Summary {
        let (h, w) = (outputs.probabilities.shape[2], outputs.probabilities.shape[3])
        let pixel = settings.reliabilityPixel ?? (h / 2, w / 2)
        let uncalibrated: ProbabilityCalibration.Result
        do {
            uncalibrated = try ProbabilityCalibration(binCount: settings.eceBins, classIndex: settings.classIndex,
                                                      precision: settings.precision)
                .evaluate(probabilities: outputs.probabilities, targets: outputs.targets, pixel: pixel)
        } catch { throw ExperimentError(error.description) }
        try directory.writeArray(.float32(uncalibrated.pixelwiseECE), to: "pixelwise_ece.npy")
        try directory.write(HeatMap(range: 0...0.5, title: "pixelwise ECE").png(uncalibrated.pixelwiseECE), to: "pixelwise_ece.png")
        try directory.writeArray(.float32(uncalibrated.structureFrequency), to: "structure_frequency.npy")
        try directory.write(HeatMap(range: 0...1, title: "structure frequency").png(uncalibrated.structureFrequency), to: "structure_frequency.png")
        try directory.write(Data(SVGPlots.reliabilityDiagram(uncalibrated.pooled, title: "Reliability, all pixels").utf8), to: "reliability_pooled.svg")
        if let atPixel = uncalibrated.atPixel {
            try directory.write(Data(SVGPlots.reliabilityDiagram(atPixel, title: "Reliability at pixel (\(pixel.h), \(pixel.w))").utf8), to: "reliability_pixel.svg")
        }
        var summary = Summary(testImages: outputs.count, meanPixelwiseECE: uncalibrated.meanPixelwiseECE)
        if let curves {
            let evaluation = CoverageEvaluation(binCount: settings.bins, indexing: settings.indexing,
                                                precision: settings.precision, classIndex: settings.classIndex)
            let result: CoverageEvaluation.Result
            do { result = try evaluation.evaluate(curves, probabilities: outputs.probabilities, targets: outputs.targets) } catch {
                throw ExperimentError(error.description)
            }
            try directory.writeArray(.float32(result.pixelwiseCalibrationError), to: "pixelwise_ce.npy")
            try directory.write(HeatMap(range: 0...0.25, title: "pixelwise coverage error").png(result.pixelwiseCalibrationError), to: "pixelwise_ce.png")
            try directory.writeArray(.float64(ShapedArray(shape: [result.marginalCoverages.count], scalars: result.marginalCoverages)), to: "coverages.npy")
            try directory.write(Data(SVGPlots.coverageDiagram(coverages: result.marginalCoverages, title: "Coverage, all pixels (\(curves.method))").utf8), to: "coverage.svg")
            let pixelCoverages = pixelCoverage(curves, outputs: outputs, settings: settings, pixel: pixel)
            try directory.write(Data(SVGPlots.coverageDiagram(coverages: pixelCoverages, title: "Coverage at pixel (\(pixel.h), \(pixel.w))").utf8), to: "pixel_coverage.svg")
            summary.method = curves.method
            summary.meanPixelwiseCE = result.meanPixelwiseCalibrationError
            summary.marginalCE = result.marginalCalibrationError
            summary.marginalCoverages = result.marginalCoverages
            let audit: CoverageAudit.Result
            do {
                audit = try CoverageAudit(alphas: settings.alphas, precision: settings.precision)
                    .evaluate(curves, probabilities: outputs.probabilities, targets: outputs.targets)
            } catch { throw ExperimentError(error.description) }
            summary.rule = curves.rule.rawValue
            summary.alphas = audit.alphas
            summary.audit = audit.rows
        }
        try directory.write(try JSONOutput.encode(summary, .prettyWithNonFiniteStrings), to: "summary.json")
        return summary
    }

    /// Coverage at one pixel over the test images, at each confidence γ_i (interpolated curve
    /// thresholds), NaN where the pixel never has the class.
    static func pixelCoverage(_ curves: CalibratedCurves, outputs: NetworkOutputs, settings: EvaluationSettings,
                              pixel: (h: Int, w: Int)) -> [Double] {
        let confidences = (0..<settings.bins).map { (Double($0) + 0.5) / Double(settings.bins) }
        let c = settings.classIndex
        return confidences.map { gamma in
            let threshold = curves.threshold(atLevel: gamma)[c, pixel.h, pixel.w]
            var covered = 0, total = 0
            for n in 0..<outputs.count where outputs.targets[n, c, pixel.h, pixel.w] == 1 {
                total += 1
                let score = settings.precision.testScore(probability: Float(outputs.probabilities[n, c, pixel.h, pixel.w]))
                if score <= threshold { covered += 1 }
            }
            return total == 0 ? .nan : Double(covered) / Double(total)
        }
    }
}

/// The `evaluation:` section of a configuration.
public struct EvaluationSettings: Sendable {
    /// The class evaluated (`evaluation.class_idx`).
    public var classIndex: Int
    /// K, the confidence bins of the coverage error (`evaluation.bins`).
    public var bins: Int
    /// How confidences are read off the curves (`evaluation.indexing`); nil (`auto`) for the
    /// curves' own.
    public var indexing: ThresholdIndexing?
    /// How test scores are computed (`evaluation.precision`).
    public var precision: ScorePrecision
    /// Bins of the probability ECE (`evaluation.ece_bins`).
    public var eceBins: Int
    /// The pixel of the pixelwise diagrams (`evaluation.reliability_pixel`); nil for the image centre.
    public var reliabilityPixel: (h: Int, w: Int)?
    /// The miscoverage levels α of the audit (`evaluation.alphas`), each in (0, 1).
    public var alphas: [Double]

    /// Reads the section, every value checked against the configuration schema (`kandinsky help-config`).
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    public init(config: Config) throws {
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

extension RunDirectory {
    /// Writes an array as `.npy` in the run folder.
    func writeArray(_ array: AnyShapedArray, to name: String) throws {
        do { try NumpyFile.write(array, to: file(name)) } catch {
            throw ExperimentError("cannot write \(file(name).path): \(error.problem)")
        }
    }
}

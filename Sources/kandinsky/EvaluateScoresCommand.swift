import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyExperiments

/// `kandinsky evaluate-scores`: coverage and calibration maps of calibrated curves on a test set.
struct EvaluateScoresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-scores",
        abstract: "Evaluate calibrated curves on test probabilities and targets.",
        discussion: """
            Writes to the output directory (the same files as eval): pixelwise_ce.npy [H, W], \
            coverages.npy [K] (marginal), pixelwise_ece.npy [H, W], structure_frequency.npy [H, W], \
            summary.json, reliability.json, coverage.svg, pixel_coverage.svg (coverage at --pixel), \
            reliability_pooled.svg, reliability_pixel.svg and PNG heat maps pixelwise_ce.png and \
            pixelwise_ece.png (range 0–0.25, recorded in summary.json as heat_map_range) and \
            structure_frequency.png (range 0–1).

            summary.json also holds the curves' quantile rule and the audit: for every class, \
            every group of a grouped class (one row for all pixels of a pixelwise class) and \
            every alpha of --alphas, the calibration images and scores, the test coverage per \
            image (95 % t interval, Wilson when each image has one target pixel) and pooled \
            over pixels (95 % Wilson interval), a shortfall flag, the share of always-in pixels \
            and the set sizes (mean, empty, singleton, full). The audit reads the thresholds as \
            predict-sets does by default (the curves' own indexing); it is also printed as a table.

            Shards (see calibrate-scores --probs) are read one pair at a time: memory holds one \
            shard pair and the evaluation's sums (a few numbers per pixel and bin), whatever the \
            number of images, and the files are those of the shards concatenated into one file.
            """)

    @OptionGroup var inputs: ShardOptions
    @Option(help: "Calibrated-model file (.safetensors).") var curves: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Number of confidence bins K.") var bins = 20
    @Option(
        help:
            "Curve indexing: at-or-above, interpolated or reference (default: the curves' own, at-or-above for conformal curves, interpolated for linear ones)."
    )
    var indexing: ThresholdIndexing?
    @Option(
        help:
            "Score precision, also of the ECE binning (half-probabilities bins Float16 predictions as the original did) (default: the one the curves were calibrated with)."
    )
    var precision: ScorePrecision?
    @Option(help: "Class evaluated.") var classIndex = 1
    @Option(help: "Pixel 'row,col' of the pixelwise reliability and coverage diagrams (default: the image centre).")
    var pixel: String?
    @Option(help: "Miscoverage levels alpha of the audit, comma-separated, each in (0, 1).") var alphas = "0.2,0.1,0.05"

    func validate() throws {
        try inputs.validate(requireTargets: true)
        // Per-pixel counts are kept for every bin (bins × H × W), so the count is bounded as for
        // evaluation.bins.
        guard bins >= 1 && bins <= ConfigSchema.maximumBins else {
            throw ValidationError("--bins: expected 1 to \(ConfigSchema.maximumBins) bins, found \(bins)")
        }
        if let pixel {
            let values = try CalibrationInputs.integers(pixel, option: "--pixel")
            guard values.count == 2 else { throw ValidationError("--pixel: expected 'row,col', found '\(pixel)'") }
        }
        _ = try Self.alphaLevels(alphas)
    }

    /// The α levels of `--alphas`: numbers in (0, 1).
    static func alphaLevels(_ text: String) throws -> [Double] {
        let values = try CalibrationInputs.numbers(text, option: "--alphas")
        guard let bad = values.first(where: { !($0 > 0 && $0 < 1) }) else { return values }
        throw ValidationError("--alphas: every alpha must lie in (0, 1), found \(bad)")
    }

    func run() throws {
        LargeAllocations.returnToTheSystemWhenFreed()
        let calibrated = try CalibrationInputs.curves(curves)
        let shards = try inputs.shards()
        let probs = ShardedInputs.describe(shards.probabilities)
        let targets = ShardedInputs.describe(shards.targets)
        var pixelOrCentre: (h: Int, w: Int)?
        if let pixel {
            let values = try CalibrationInputs.integers(pixel, option: "--pixel")
            pixelOrCentre = (values[0], values[1])
        }
        // ProbabilityCalibration's default ECE bins (20), also the default of `evaluation.ece_bins`.
        let settings = EvaluationSettings(
            classIndex: classIndex, bins: bins, indexing: indexing,
            precision: precision ?? calibrated.precision,
            eceBins: ProbabilityCalibration().binCount,
            reliabilityPixel: pixelOrCentre, alphas: try Self.alphaLevels(alphas))
        // One shard pair at a time; the whole set's shape [N, C, H, W] is checked once the first
        // pair has given C (one sigmoid channel reads as two classes).
        let imageCount = shards.probabilities.reduce(0) { $0 + ($1.shape.first ?? 0) }
        var shape: [Int] = []
        var accumulator: EvaluationFiles.Accumulator?
        for k in shards.probabilities.indices {
            let input = try shards.pair(k)
            if accumulator == nil {
                shape = [imageCount] + input.probabilities.shape.dropFirst()
                try InputValidation.checkShapes(
                    probabilities: shape, targets: shape, probabilitiesSource: probs, targetsSource: targets)
                try calibrated.checkCompatible(withProbabilitiesShape: shape, curvesSource: curves)
                try InputValidation.checkClassIndex(classIndex, classCount: shape[1], source: "--class-index")
                accumulator = EvaluationFiles.Accumulator(
                    calibrated, shape: shape, settings: settings, sources: (probs, targets, curves))
            }
            guard input.probabilities.shape[0] > 0 else { continue }
            let (p, t) = (shards.probabilities[k].path, shards.targets[k].path)
            switch input.probabilities {
            case .float32(let q):
                try accumulator!.add(
                    probabilities: q, targets: input.targets!, probabilitiesSource: p, targetsSource: t)
            case .float16(let q):
                try accumulator!.add(
                    probabilities: q, targets: input.targets!, probabilitiesSource: p, targetsSource: t)
            }
        }
        let files = try accumulator!.result()
        // Every file of the folder appears together or none does (a full disk or a kill leaves
        // the previous contents).
        try AtomicDirectory.write(to: URL(fileURLWithPath: out)) { staging in try files.write(into: staging) }
        let coverage = files.calibrated!.coverage
        let audit = files.calibrated!.audit
        print(
            String(
                format: "%@: mean pixelwise CE %.5f, marginal CE %.5f, mean pixelwise ECE %.5f", out,
                coverage.meanPixelwiseCalibrationError, coverage.marginalCalibrationError,
                files.uncalibrated.meanPixelwiseECE))
        print(
            "Audit (\(calibrated.rule.rawValue) curves, \(audit.indexing.rawValue) indexing, "
                + "\(shape[0]) test images):")
        print(audit.table)
    }
}

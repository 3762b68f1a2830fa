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
            Writes to the output directory: pixelwise_ce.npy [H, W], coverages.npy [K] (marginal), \
            pixelwise_ece.npy [H, W], structure_frequency.npy [H, W], summary.json, reliability.json, \
            coverage.svg, reliability.svg, reliability_pixel.svg and PNG heat maps pixelwise_ce.png \
            (range 0–0.5), pixelwise_ece.png (range 0–0.5) and structure_frequency.png (range 0–1).

            summary.json also holds the curves' quantile rule and the audit: for every class, \
            every group of a grouped class (one row for all pixels of a pixelwise class) and \
            every alpha of --alphas, the calibration images and scores, the test coverage per \
            image (95 % t interval, Wilson when each image has one target pixel) and pooled \
            over pixels (95 % Wilson interval), a shortfall flag, the share of always-in pixels \
            and the set sizes (mean, empty, singleton, full). The audit reads the thresholds as \
            predict-sets does by default (the curves' own indexing); it is also printed as a table.

            Shards (see calibrate-scores --probs) are concatenated: the test set is held whole.
            """)

    @OptionGroup var inputs: ShardOptions
    @Option(help: "Calibrated-model file (.safetensors).") var curves: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Number of confidence bins K.") var bins = 20
    @Option(help: "Curve indexing: at-or-above, interpolated or reference (default: the curves' own, at-or-above for conformal curves, interpolated for linear ones).")
    var indexing: ThresholdIndexing?
    @Option(help: "Score precision, also of the ECE binning (half-probabilities bins Float16 predictions as the original did) (default: the one the curves were calibrated with).")
    var precision: ScorePrecision?
    @Option(help: "Class evaluated.") var classIndex = 1
    @Option(help: "Pixel 'row,col' of the pixelwise reliability diagram (default: the image centre).") var pixel: String?
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
        let calibrated = try CalibrationInputs.curves(curves)
        let shards = try inputs.shards()
        let (probabilities, targetMaskOrNil) = try shards.concatenated()
        let targetMask = targetMaskOrNil!
        let probs = ShardedInputs.describe(shards.probabilities), targets = ShardedInputs.describe(shards.targets)
        let shape = probabilities.shape
        try InputValidation.checkShapes(probabilities: shape, targets: targetMask.shape, probabilitiesSource: probs, targetsSource: targets)
        try calibrated.checkCompatible(withProbabilitiesShape: shape, curvesSource: curves)
        try InputValidation.checkClassIndex(classIndex, classCount: shape[1], source: "--class-index")
        let chosenPixel: (h: Int, w: Int)
        if let pixel {
            let values = try CalibrationInputs.integers(pixel, option: "--pixel")
            chosenPixel = (values[0], values[1])
        } else {
            chosenPixel = (shape[2] / 2, shape[3] / 2)
        }
        let coverage = CoverageEvaluation(binCount: bins, indexing: indexing, precision: precision ?? calibrated.precision,
                                          classIndex: classIndex)
        let raw = ProbabilityCalibration(classIndex: classIndex, precision: precision ?? calibrated.precision)
        let audit = CoverageAudit(alphas: try Self.alphaLevels(alphas), precision: precision ?? calibrated.precision)
        let coverageResult: CoverageEvaluation.Result
        let rawResult: ProbabilityCalibration.Result
        let auditResult: CoverageAudit.Result
        switch probabilities {
        case .float32(let p):
            coverageResult = try coverage.evaluate(calibrated, probabilities: p, targets: targetMask, probabilitiesSource: probs,
                                                   targetsSource: targets, curvesSource: curves)
            rawResult = try raw.evaluate(probabilities: p, targets: targetMask, pixel: chosenPixel, probabilitiesSource: probs, targetsSource: targets)
            auditResult = try audit.evaluate(calibrated, probabilities: p, targets: targetMask, probabilitiesSource: probs,
                                             targetsSource: targets, curvesSource: curves)
        case .float16(let p):
            coverageResult = try coverage.evaluate(calibrated, probabilities: p, targets: targetMask, probabilitiesSource: probs,
                                                   targetsSource: targets, curvesSource: curves)
            rawResult = try raw.evaluate(probabilities: p, targets: targetMask, pixel: chosenPixel, probabilitiesSource: probs, targetsSource: targets)
            auditResult = try audit.evaluate(calibrated, probabilities: p, targets: targetMask, probabilitiesSource: probs,
                                             targetsSource: targets, curvesSource: curves)
        }
        // Every file of the folder appears together or none does (a full disk or a kill leaves
        // the previous contents).
        try AtomicDirectory.write(to: URL(fileURLWithPath: out)) { staging in
            func file(_ name: String) -> URL { staging.appendingPathComponent(name) }
            try NumpyFile.write(.float32(coverageResult.pixelwiseCalibrationError), to: file("pixelwise_ce.npy"))
            try NumpyFile.write(.float64(ShapedArray(shape: [bins], scalars: coverageResult.marginalCoverages)), to: file("coverages.npy"))
            try NumpyFile.write(.float32(rawResult.pixelwiseECE), to: file("pixelwise_ece.npy"))
            try NumpyFile.write(.float32(rawResult.structureFrequency), to: file("structure_frequency.npy"))
            let summary = EvaluationSummary(
                method: calibrated.method, rule: calibrated.rule.rawValue, classIndex: classIndex, bins: bins, indexing: (indexing ?? calibrated.defaultIndexing).rawValue,
                testImages: shape[0], targetPixels: coverageResult.targetCount,
                meanPixelwiseCE: coverageResult.meanPixelwiseCalibrationError.finiteOrNil,
                marginalCE: coverageResult.marginalCalibrationError.finiteOrNil,
                meanPixelwiseECE: rawResult.meanPixelwiseECE.finiteOrNil,
                confidences: coverageResult.confidences, coverages: coverageResult.marginalCoverages,
                alphas: auditResult.alphas, auditIndexing: auditResult.indexing.rawValue, audit: auditResult.rows.map(AuditRow.init))
            try AtomicFile.write(Self.json(summary), to: file("summary.json"))
            try AtomicFile.write(Self.json(ReliabilityData(pooled: .init(rawResult.pooled), pixel: [chosenPixel.h, chosenPixel.w],
                                                           atPixel: rawResult.atPixel.map(ReliabilityData.Bins.init))),
                                 to: file("reliability.json"))
            let k = String(bins)
            try AtomicFile.write(Data(SVGPlots.coverageDiagram(coverages: coverageResult.marginalCoverages,
                                                               title: "Marginal coverage, class \(classIndex) (\(calibrated.method), K = \(k))").utf8),
                                 to: file("coverage.svg"))
            try AtomicFile.write(Data(SVGPlots.reliabilityDiagram(rawResult.pooled, title: "Reliability, class \(classIndex), all pixels").utf8),
                                 to: file("reliability.svg"))
            if let atPixel = rawResult.atPixel {
                try AtomicFile.write(Data(SVGPlots.reliabilityDiagram(atPixel, title: "Reliability at pixel (\(chosenPixel.h), \(chosenPixel.w))").utf8),
                                     to: file("reliability_pixel.svg"))
            }
            try AtomicFile.write(HeatMap(range: 0...0.5, title: "pixelwise CE").png(coverageResult.pixelwiseCalibrationError), to: file("pixelwise_ce.png"))
            try AtomicFile.write(HeatMap(range: 0...0.5, title: "pixelwise ECE").png(rawResult.pixelwiseECE), to: file("pixelwise_ece.png"))
            try AtomicFile.write(HeatMap(range: 0...1, title: "structure frequency").png(rawResult.structureFrequency), to: file("structure_frequency.png"))
        }
        print(String(format: "%@: mean pixelwise CE %.5f, marginal CE %.5f, mean pixelwise ECE %.5f", out,
                     coverageResult.meanPixelwiseCalibrationError, coverageResult.marginalCalibrationError, rawResult.meanPixelwiseECE))
        print("Audit (\(calibrated.rule.rawValue) curves, \(auditResult.indexing.rawValue) indexing, \(shape[0]) test images):")
        print(auditResult.table)
    }

    static func json(_ value: some Encodable) throws -> Data {
        try JSONOutput.encode(value, .pretty)
    }
}

/// `summary.json`. NaN values (nothing to average) are written as null.
struct EvaluationSummary: Encodable {
    var method: String
    var rule: String
    var classIndex: Int
    var bins: Int
    var indexing: String
    var testImages: Int
    var targetPixels: Int
    var meanPixelwiseCE: Double?
    var marginalCE: Double?
    var meanPixelwiseECE: Double?
    var confidences: [Double]
    var coverages: [Double]
    var alphas: [Double]
    var auditIndexing: String
    var audit: [AuditRow]

    enum CodingKeys: String, CodingKey {
        case method, rule, bins, indexing, confidences, coverages, alphas, audit
        case classIndex = "class_index", testImages = "test_images", targetPixels = "target_pixels"
        case meanPixelwiseCE = "mean_pixelwise_ce", marginalCE = "marginal_ce", meanPixelwiseECE = "mean_pixelwise_ece"
        case auditIndexing = "audit_indexing"
    }
}

/// One row of the audit in `summary.json` (``CoverageAudit/Row``), NaN as null and intervals as
/// [lower, upper].
struct AuditRow: Encodable {
    var classIndex: Int
    var group: Int?
    var pixels: Int
    var alpha: Double
    var calibrationImages: Int?
    var calibrationScores: Int?
    var testImages: Int
    var targetPixels: Int
    var coveredPixels: Int
    var perImageCoverage: Double?
    var perImageInterval: [Double]?
    var perImageIntervalMethod: String?
    var pooledCoverage: Double?
    var pooledInterval: [Double]?
    var shortfall: Bool
    var alwaysInShare: Double?
    var meanSetSize: Double?
    var emptyShare: Double?
    var singletonShare: Double?
    var fullShare: Double?

    init(_ row: CoverageAudit.Row) {
        classIndex = row.classIndex
        group = row.group
        pixels = row.pixels
        alpha = row.alpha
        calibrationImages = row.calibrationImages
        calibrationScores = row.calibrationScores
        testImages = row.testImages
        targetPixels = row.targetPixels
        coveredPixels = row.coveredPixels
        perImageCoverage = row.perImageCoverage.finiteOrNil
        perImageInterval = row.perImageInterval.map { [$0.lower, $0.upper] }
        perImageIntervalMethod = row.perImageIntervalMethod?.rawValue
        pooledCoverage = row.pooledCoverage.finiteOrNil
        pooledInterval = row.pooledInterval.map { [$0.lower, $0.upper] }
        shortfall = row.shortfall
        alwaysInShare = row.alwaysInShare.finiteOrNil
        meanSetSize = row.meanSetSize.finiteOrNil
        emptyShare = row.emptyShare.finiteOrNil
        singletonShare = row.singletonShare.finiteOrNil
        fullShare = row.fullShare.finiteOrNil
    }

    enum CodingKeys: String, CodingKey {
        case group, pixels, alpha, shortfall
        case classIndex = "class_index", calibrationImages = "calibration_images", calibrationScores = "calibration_scores"
        case testImages = "test_images", targetPixels = "target_pixels", coveredPixels = "covered_pixels"
        case perImageCoverage = "per_image_coverage", perImageInterval = "per_image_interval"
        case perImageIntervalMethod = "per_image_interval_method"
        case pooledCoverage = "pooled_coverage", pooledInterval = "pooled_interval"
        case alwaysInShare = "always_in_share", meanSetSize = "mean_set_size", emptyShare = "empty_share"
        case singletonShare = "singleton_share", fullShare = "full_share"
    }

    /// Every key, unknown values as null (synthesised encoding would leave them out).
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(classIndex, forKey: .classIndex)
        try c.encode(group, forKey: .group)
        try c.encode(pixels, forKey: .pixels)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(calibrationImages, forKey: .calibrationImages)
        try c.encode(calibrationScores, forKey: .calibrationScores)
        try c.encode(testImages, forKey: .testImages)
        try c.encode(targetPixels, forKey: .targetPixels)
        try c.encode(coveredPixels, forKey: .coveredPixels)
        try c.encode(perImageCoverage, forKey: .perImageCoverage)
        try c.encode(perImageInterval, forKey: .perImageInterval)
        try c.encode(perImageIntervalMethod, forKey: .perImageIntervalMethod)
        try c.encode(pooledCoverage, forKey: .pooledCoverage)
        try c.encode(pooledInterval, forKey: .pooledInterval)
        try c.encode(shortfall, forKey: .shortfall)
        try c.encode(alwaysInShare, forKey: .alwaysInShare)
        try c.encode(meanSetSize, forKey: .meanSetSize)
        try c.encode(emptyShare, forKey: .emptyShare)
        try c.encode(singletonShare, forKey: .singletonShare)
        try c.encode(fullShare, forKey: .fullShare)
    }
}

/// `reliability.json`: reliability-diagram bins pooled and at one pixel.
struct ReliabilityData: Encodable {
    struct Bins: Encodable {
        var counts: [Int]
        var meanPredictions: [Double?]
        var meanTargets: [Double?]
        var ece: Double?
        init(_ r: ProbabilityCalibration.Reliability) {
            counts = r.counts
            meanPredictions = r.meanPredictions.map(\.finiteOrNil)
            meanTargets = r.meanTargets.map(\.finiteOrNil)
            ece = r.expectedCalibrationError.finiteOrNil
        }
        enum CodingKeys: String, CodingKey {
            case counts, ece
            case meanPredictions = "mean_predictions", meanTargets = "mean_targets"
        }
    }
    var pooled: Bins
    var pixel: [Int]
    var atPixel: Bins?
    enum CodingKeys: String, CodingKey { case pooled, pixel, atPixel = "at_pixel" }
}

extension Double {
    var finiteOrNil: Double? { isFinite ? self : nil }
}

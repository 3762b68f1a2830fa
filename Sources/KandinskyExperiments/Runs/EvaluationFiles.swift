import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyPlots

/// The diagnostics of one evaluation as files: the one writer of `kandinsky evaluate-scores` and
/// `kandinsky eval`, so both write the same names, the same schema and the same pictures (see the
/// File formats article of KandinskyCalibration for every key).
///
/// Always, from the raw probabilities: `pixelwise_ece.npy` and `.png`, `structure_frequency.npy`
/// and `.png`, `reliability.json`, `reliability_pooled.svg` and `reliability_pixel.svg`. With
/// calibrated curves also `pixelwise_ce.npy` and `.png`, `coverages.npy`, `coverage.svg`
/// (marginal coverage against confidence) and `pixel_coverage.svg` (coverage at ``pixel``).
/// Last `summary.json` (``EvaluationSummary``).
package struct EvaluationFiles {
    /// What the curves add to the raw diagnostics.
    package struct Calibrated {
        /// The curves' strategy (`kmeans`, `pixel`, …).
        package var method: String
        /// The curves' quantile rule.
        package var rule: QuantileRule
        /// The indexing the coverage error read the thresholds with.
        package var indexing: ThresholdIndexing
        /// The coverage error at K confidences.
        package var coverage: CoverageEvaluation.Result
        /// The coverage at ``EvaluationFiles/pixel`` at each of the K confidences, NaN where the
        /// pixel never has the class (``PixelCoverage``).
        package var pixelCoverages: [Double]
        /// The audit of the prediction sets.
        package var audit: CoverageAudit.Result
    }

    /// The evaluated class.
    package var classIndex: Int
    /// N, the test images.
    package var testImages: Int
    /// The pixel (row, column) of `reliability_pixel.svg` and `pixel_coverage.svg`.
    package var pixel: (h: Int, w: Int)
    /// The diagnostics of the raw probabilities.
    package var uncalibrated: ProbabilityCalibration.Result
    /// The diagnostics of the curves, nil for a model without them.
    package var calibrated: Calibrated?

    /// Evaluates `probabilities` against `targets` (both [N, C, H, W]) as `settings` says: the
    /// raw diagnostics at ``EvaluationSettings/reliabilityPixel`` (the image centre when nil)
    /// and, with `curves`, the coverage error, the coverage at that pixel and the audit
    /// (``Accumulator`` over one shard holding every image). `sources` name the inputs in error
    /// messages.
    ///
    /// - Throws: ``KandinskyCalibration/CalibrationError`` for inputs that do not fit each other.
    package init<P: QuantileScalar>(
        _ curves: CalibratedCurves?, probabilities: ShapedArray<P>,
        targets: ShapedArray<UInt8>, settings: EvaluationSettings,
        sources: (probabilities: String, targets: String, curves: String) = ("probabilities", "targets", "curves")
    ) throws(CalibrationError) {
        var accumulator = Accumulator(curves, shape: probabilities.shape, settings: settings, sources: sources)
        try accumulator.add(
            probabilities: probabilities, targets: targets, probabilitiesSource: sources.probabilities,
            targetsSource: sources.targets)
        self = try accumulator.result()
    }

    /// The evaluations of ``EvaluationFiles`` over a test set read shard by shard, images in
    /// order: after shards of N_1, N_2, … images, ``result()`` is bit for bit the evaluation of
    /// their concatenation along N (each evaluation's own accumulator guarantees it:
    /// ``CoverageEvaluation/Accumulator``, ``ProbabilityCalibration/Accumulator``,
    /// ``CoverageAudit/Accumulator``; the coverage at the pixel counts integers).
    ///
    /// Memory: the evaluations' sums, O(C·H·W·(K + B + |α|)), whatever the number of shards; a
    /// caller that reads one shard at a time holds one shard besides.
    package struct Accumulator {
        /// The curves evaluated, nil for the raw diagnostics alone.
        let curves: CalibratedCurves?
        /// The evaluated class.
        let classIndex: Int
        /// N, the images of the whole set.
        let imageCount: Int
        /// The pixel of the pixelwise diagrams.
        let pixel: (h: Int, w: Int)
        /// The indexing of the coverage error, nil for the curves' own.
        let indexing: ThresholdIndexing?
        /// The coverage error, nil without curves.
        var coverage: CoverageEvaluation.Accumulator?
        /// The raw diagnostics.
        var uncalibrated: ProbabilityCalibration.Accumulator
        /// The audit, nil without curves.
        var audit: CoverageAudit.Accumulator?
        /// The coverage at ``pixel``, nil without curves.
        var pixelCoverage: PixelCoverage?

        /// An accumulator of no images of a test set of `shape` [N, C, H, W]; `sources` name the
        /// whole set in the errors found only at the end (a class without targets).
        package init(
            _ curves: CalibratedCurves?, shape: [Int], settings: EvaluationSettings,
            sources: (probabilities: String, targets: String, curves: String) = ("probabilities", "targets", "curves")
        ) {
            let (h, w) = (shape[2], shape[3])
            let pixel = settings.reliabilityPixel ?? (h / 2, w / 2)
            let (c, precision) = (settings.classIndex, settings.precision)
            self.curves = curves
            classIndex = c
            imageCount = shape[0]
            self.pixel = pixel
            indexing = settings.indexing
            coverage = curves.map { curves in
                CoverageEvaluation.Accumulator(
                    CoverageEvaluation(
                        binCount: settings.bins, indexing: settings.indexing, precision: precision, classIndex: c),
                    curves: curves, targetsSource: sources.targets, curvesSource: sources.curves)
            }
            uncalibrated = ProbabilityCalibration.Accumulator(
                ProbabilityCalibration(binCount: settings.eceBins, classIndex: c, precision: precision), pixel: pixel)
            audit = curves.map { curves in
                CoverageAudit.Accumulator(
                    CoverageAudit(alphas: settings.alphas, precision: precision), curves: curves,
                    imageCount: shape[0], curvesSource: sources.curves)
            }
            pixelCoverage = curves.map { _ in
                PixelCoverage(classIndex: c, bins: settings.bins, precision: precision, pixel: pixel)
            }
        }

        /// Adds the next images: probabilities and targets [n, C, H, W], the errors naming this
        /// shard's sources. The coverage error checks them first: its checks of the curves
        /// against the inputs are the errors evaluate-scores has always reported first.
        ///
        /// - Throws: ``KandinskyCalibration/CalibrationError`` for inputs that do not fit each other.
        package mutating func add<P: QuantileScalar>(
            probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
            probabilitiesSource: String = "probabilities", targetsSource: String = "targets"
        ) throws(CalibrationError) {
            try coverage?.add(
                probabilities: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
                targetsSource: targetsSource)
            try uncalibrated.add(
                probabilities: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
                targetsSource: targetsSource)
            try audit?.add(
                probabilities: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
                targetsSource: targetsSource)
            if let curves { pixelCoverage?.add(curves, probabilities: probabilities, targets: targets) }
        }

        /// The evaluation of the images added, its errors in the order of one pass over the
        /// whole set: a class without targets, a pixel outside the image, group labels that do
        /// not fit the curves.
        ///
        /// - Throws: ``KandinskyCalibration/CalibrationError``.
        package func result() throws(CalibrationError) -> EvaluationFiles {
            let coverage = try self.coverage?.result()
            var files = EvaluationFiles(
                classIndex: classIndex, testImages: imageCount, pixel: pixel,
                uncalibrated: try uncalibrated.result())
            if let curves, let coverage, let audit, let pixelCoverage {
                files.calibrated = Calibrated(
                    method: curves.method, rule: curves.rule, indexing: indexing ?? curves.defaultIndexing,
                    coverage: coverage, pixelCoverages: pixelCoverage.coverages, audit: try audit.result())
            }
            return files
        }
    }

    /// Coverage at one pixel over the test images at each confidence γ_i = (i + 0.5)/K: the share
    /// of the images whose pixel is a target of class c and whose score there is at most the
    /// curves' interpolated threshold at γ_i; NaN where the pixel never has the class. Counted
    /// shard by shard.
    ///
    /// - Complexity: O(K · C · H · W) for the thresholds (once), O(K · n) for the counts of a shard.
    struct PixelCoverage {
        /// The class c.
        let classIndex: Int
        /// K.
        let bins: Int
        /// How test scores are computed.
        let precision: ScorePrecision
        /// The pixel (row, column).
        let pixel: (h: Int, w: Int)
        /// The thresholds at the pixel at each γ_i, read with the first shard; empty before.
        var thresholds: [Float] = []
        /// The images whose pixel is covered at each γ_i, [K].
        var covered: [Int]
        /// The images whose pixel is a target of the class.
        var total = 0

        init(classIndex: Int, bins: Int, precision: ScorePrecision, pixel: (h: Int, w: Int)) {
            self.classIndex = classIndex
            self.bins = bins
            self.precision = precision
            self.pixel = pixel
            covered = [Int](repeating: 0, count: bins)
        }

        /// Counts probabilities and targets [n, C, H, W] that passed the evaluation's checks.
        /// Nothing is counted for a pixel outside the image (the raw diagnostics report it).
        mutating func add<P: QuantileScalar>(
            _ curves: CalibratedCurves, probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>
        ) {
            let shape = probabilities.shape
            let (n, classes, h, w) = (shape[0], shape[1], shape[2], shape[3])
            guard (0..<h).contains(pixel.h) && (0..<w).contains(pixel.w) else { return }
            let c = classIndex
            if thresholds.isEmpty {
                thresholds = (0..<bins).map { bin in
                    curves.threshold(atLevel: (Double(bin) + 0.5) / Double(bins))[c, pixel.h, pixel.w]
                }
            }
            // The pixel's offset in image 0; image i's is `first + i · stride`.
            let first = (c * h + pixel.h) * w + pixel.w
            let stride = classes * h * w
            targets.withUnsafeBufferPointer { target in
                probabilities.withUnsafeBufferPointer { probability in
                    for i in 0..<n where target[first + i * stride] == 1 {
                        total += 1
                        let score = precision.testScore(probability: Float(probability[first + i * stride]))
                        for bin in 0..<bins where score <= thresholds[bin] { covered[bin] += 1 }
                    }
                }
            }
        }

        /// The coverage at each γ_i, NaN for every bin when the pixel never has the class.
        var coverages: [Double] { covered.map { total == 0 ? .nan : Double($0) / Double(total) } }
    }

    /// The raw diagnostics of a test set, without curves' (``Accumulator/result()`` adds them).
    init(
        classIndex: Int, testImages: Int, pixel: (h: Int, w: Int), uncalibrated: ProbabilityCalibration.Result
    ) {
        self.classIndex = classIndex
        self.testImages = testImages
        self.pixel = pixel
        self.uncalibrated = uncalibrated
    }

    /// The colour range of the pixelwise CE and ECE maps: 0 (calibrated) to 0.25, as the study
    /// report's CE maps; larger errors are drawn at the top colour. Structure frequency spans 0…1.
    package static let errorRange: ClosedRange<Float> = 0...0.25

    /// The numbers of `summary.json`.
    package var summary: EvaluationSummary {
        var summary = EvaluationSummary(testImages: testImages, meanPixelwiseECE: uncalibrated.meanPixelwiseECE)
        summary.classIndex = classIndex
        summary.pixel = [pixel.h, pixel.w]
        summary.heatMapRange = [Double(Self.errorRange.lowerBound), Double(Self.errorRange.upperBound)]
        guard let calibrated else { return summary }
        summary.method = calibrated.method
        summary.rule = calibrated.rule.rawValue
        summary.bins = calibrated.coverage.confidences.count
        summary.indexing = calibrated.indexing.rawValue
        summary.targetPixels = calibrated.coverage.targetCount
        summary.meanPixelwiseCE = calibrated.coverage.meanPixelwiseCalibrationError
        summary.marginalCE = calibrated.coverage.marginalCalibrationError
        summary.confidences = calibrated.coverage.confidences
        summary.marginalCoverages = calibrated.coverage.marginalCoverages
        summary.alphas = calibrated.audit.alphas
        summary.auditIndexing = calibrated.audit.indexing.rawValue
        summary.audit = calibrated.audit.rows
        return summary
    }

    /// Writes every file into `directory` (which must exist), `summary.json` last.
    ///
    /// - Throws: ``ExperimentError`` naming the file that could not be written.
    package func write(into directory: URL) throws {
        func write(_ data: Data, _ name: String) throws {
            try ExperimentError.writeAtomically(data, to: directory.appendingPathComponent(name))
        }
        func write(_ array: AnyShapedArray, _ name: String) throws {
            let url = directory.appendingPathComponent(name)
            do { try NumpyFile.write(array, to: url) } catch {
                throw ExperimentError.cannotWrite(url.path, error)
            }
        }
        /// A map as `name.npy` and as a heat map `name.png` over `range`.
        func write(_ map: Tensor, _ name: String, range: ClosedRange<Float>, title: String) throws {
            try write(.float32(map), "\(name).npy")
            try write(HeatMap(range: range, title: title).png(map), "\(name).png")
        }
        let c = classIndex
        let at = "(\(pixel.h), \(pixel.w))"
        try write(uncalibrated.pixelwiseECE, "pixelwise_ece", range: Self.errorRange, title: "pixelwise ECE")
        try write(uncalibrated.structureFrequency, "structure_frequency", range: 0...1, title: "structure frequency")
        try write(
            Self.json(
                ReliabilityData(
                    pooled: .init(uncalibrated.pooled), pixel: [pixel.h, pixel.w],
                    atPixel: uncalibrated.atPixel.map(ReliabilityData.Bins.init))),
            "reliability.json")
        let pooled = SVGPlots.reliabilityDiagram(uncalibrated.pooled, title: "Reliability, class \(c), all pixels")
        try write(Data(pooled.utf8), "reliability_pooled.svg")
        if let atPixel = uncalibrated.atPixel {
            try write(
                Data(SVGPlots.reliabilityDiagram(atPixel, title: "Reliability, class \(c), at pixel \(at)").utf8),
                "reliability_pixel.svg")
        }
        if let calibrated {
            let result = calibrated.coverage
            let k = result.confidences.count
            try write(result.pixelwiseCalibrationError, "pixelwise_ce", range: Self.errorRange, title: "pixelwise CE")
            try write(.float64(ShapedArray(shape: [k], scalars: result.marginalCoverages)), "coverages.npy")
            let marginalTitle = "Marginal coverage, class \(c) (\(calibrated.method), K = \(k))"
            let marginal = SVGPlots.coverageDiagram(coverages: result.marginalCoverages, title: marginalTitle)
            try write(Data(marginal.utf8), "coverage.svg")
            let atPixel = SVGPlots.coverageDiagram(
                coverages: calibrated.pixelCoverages,
                title: "Coverage, class \(c), at pixel \(at)")
            try write(Data(atPixel.utf8), "pixel_coverage.svg")
        }
        try write(Self.json(summary), "summary.json")
    }

    /// Pretty-printed JSON with sorted keys.
    static func json(_ value: some Encodable) throws -> Data {
        do { return try JSONOutput.encode(value, .pretty) } catch {
            throw ExperimentError(
                "cannot encode the evaluation summary: \(error)", kind: .cannotWrite, underlying: error)
        }
    }
}

/// The numbers of an evaluation's `summary.json`, as `evaluate-scores` and `eval` write it:
/// snake_case keys, sorted, every key present, `null` for a value without curves or with nothing
/// to average (NaN). The keys are listed in the File formats article of KandinskyCalibration.
public struct EvaluationSummary: Sendable, Equatable, Encodable {
    /// The curves' strategy, nil without curves.
    public var method: String?
    /// The curves' quantile rule (`QuantileRule`), nil without curves.
    public var rule: String?
    /// The evaluated class.
    public var classIndex = 1
    /// K, the confidence bins of the coverage error, nil without curves.
    public var bins: Int?
    /// The indexing of the coverage error (`ThresholdIndexing`), nil without curves.
    public var indexing: String?
    /// The number of test images.
    public var testImages: Int
    /// The evaluated class's target pixels, nil without curves.
    public var targetPixels: Int?
    /// The pixel `[row, column]` of the pixelwise reliability and coverage diagrams.
    public var pixel: [Int] = []
    /// The colour range `[low, high]` of the pixelwise CE and ECE heat maps.
    public var heatMapRange: [Double] = []
    /// The mean over pixels of the binned ECE of the raw probabilities.
    public var meanPixelwiseECE: Double
    /// The mean pixelwise coverage error, nil without curves.
    public var meanPixelwiseCE: Double?
    /// The marginal coverage error, nil without curves.
    public var marginalCE: Double?
    /// The K confidences (i + 0.5)/K, nil without curves.
    public var confidences: [Double]?
    /// The marginal coverage at each confidence, nil without curves.
    public var marginalCoverages: [Double]?
    /// The α levels of the audit, nil without curves.
    public var alphas: [Double]?
    /// The indexing the audit read the thresholds with, nil without curves.
    public var auditIndexing: String?
    /// The audit of the prediction sets (`CoverageAudit`), nil without curves.
    public var audit: [CoverageAudit.Row]?

    /// A summary of the raw diagnostics alone.
    init(testImages: Int, meanPixelwiseECE: Double) {
        self.testImages = testImages
        self.meanPixelwiseECE = meanPixelwiseECE
    }

    enum CodingKeys: String, CodingKey {
        case method, rule, bins, indexing, pixel, confidences, alphas, audit
        case classIndex = "class_index"
        case testImages = "test_images"
        case targetPixels = "target_pixels"
        case heatMapRange = "heat_map_range"
        case meanPixelwiseECE = "mean_pixelwise_ece"
        case meanPixelwiseCE = "mean_pixelwise_ce"
        case marginalCE = "marginal_ce"
        case marginalCoverages = "coverages"
        case auditIndexing = "audit_indexing"
    }

    /// Every key, nil and NaN as null (synthesised encoding would leave nil out and fail on NaN).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(rule, forKey: .rule)
        try c.encode(classIndex, forKey: .classIndex)
        try c.encode(bins, forKey: .bins)
        try c.encode(indexing, forKey: .indexing)
        try c.encode(testImages, forKey: .testImages)
        try c.encode(targetPixels, forKey: .targetPixels)
        try c.encode(pixel, forKey: .pixel)
        try c.encode(heatMapRange, forKey: .heatMapRange)
        try c.encode(meanPixelwiseECE.finiteOrNil, forKey: .meanPixelwiseECE)
        try c.encode(meanPixelwiseCE?.finiteOrNil, forKey: .meanPixelwiseCE)
        try c.encode(marginalCE?.finiteOrNil, forKey: .marginalCE)
        try c.encode(confidences, forKey: .confidences)
        try c.encode(marginalCoverages?.map(\.finiteOrNil), forKey: .marginalCoverages)
        try c.encode(alphas, forKey: .alphas)
        try c.encode(auditIndexing, forKey: .auditIndexing)
        try c.encode(audit?.map(AuditRow.init), forKey: .audit)
    }
}

/// An optional that is written as JSON `null` when nil (synthesised encoding would leave the
/// key out).
struct Nullable<Wrapped: Encodable>: Encodable {
    var value: Wrapped?

    init(_ value: Wrapped?) { self.value = value }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// One row of the audit in `summary.json` (``CoverageAudit/Row``), every key present, NaN and
/// unknown values as null, intervals as [lower, upper].
struct AuditRow: Encodable {
    var classIndex: Int
    var group: Nullable<Int>
    var pixels: Int
    var alpha: Double
    var calibrationImages: Nullable<Int>
    var calibrationScores: Nullable<Int>
    var testImages: Int
    var targetPixels: Int
    var coveredPixels: Int
    var perImageCoverage: Nullable<Double>
    var perImageInterval: Nullable<[Double]>
    var perImageIntervalMethod: Nullable<String>
    var pooledCoverage: Nullable<Double>
    var pooledInterval: Nullable<[Double]>
    var shortfall: Bool
    var alwaysInShare: Nullable<Double>
    var meanSetSize: Nullable<Double>
    var emptyShare: Nullable<Double>
    var singletonShare: Nullable<Double>
    var fullShare: Nullable<Double>

    init(_ row: CoverageAudit.Row) {
        classIndex = row.classIndex
        group = Nullable(row.group)
        pixels = row.pixels
        alpha = row.alpha
        calibrationImages = Nullable(row.calibrationImages)
        calibrationScores = Nullable(row.calibrationScores)
        testImages = row.testImages
        targetPixels = row.targetPixels
        coveredPixels = row.coveredPixels
        perImageCoverage = Nullable(row.perImageCoverage.finiteOrNil)
        perImageInterval = Nullable(row.perImageInterval.map { [$0.lower, $0.upper] })
        perImageIntervalMethod = Nullable(row.perImageIntervalMethod?.rawValue)
        pooledCoverage = Nullable(row.pooledCoverage.finiteOrNil)
        pooledInterval = Nullable(row.pooledInterval.map { [$0.lower, $0.upper] })
        shortfall = row.shortfall
        alwaysInShare = Nullable(row.alwaysInShare.finiteOrNil)
        meanSetSize = Nullable(row.meanSetSize.finiteOrNil)
        emptyShare = Nullable(row.emptyShare.finiteOrNil)
        singletonShare = Nullable(row.singletonShare.finiteOrNil)
        fullShare = Nullable(row.fullShare.finiteOrNil)
    }

    enum CodingKeys: String, CodingKey {
        case group, pixels, alpha, shortfall
        case classIndex = "class_index"
        case calibrationImages = "calibration_images"
        case calibrationScores = "calibration_scores"
        case testImages = "test_images"
        case targetPixels = "target_pixels"
        case coveredPixels = "covered_pixels"
        case perImageCoverage = "per_image_coverage"
        case perImageInterval = "per_image_interval"
        case perImageIntervalMethod = "per_image_interval_method"
        case pooledCoverage = "pooled_coverage"
        case pooledInterval = "pooled_interval"
        case alwaysInShare = "always_in_share"
        case meanSetSize = "mean_set_size"
        case emptyShare = "empty_share"
        case singletonShare = "singleton_share"
        case fullShare = "full_share"
    }
}

/// `reliability.json`: reliability-diagram bins pooled and at one pixel.
struct ReliabilityData: Encodable {
    struct Bins: Encodable {
        var counts: [Int]
        var meanPredictions: [Double?]
        var meanTargets: [Double?]
        var ece: Double?
        enum CodingKeys: String, CodingKey {
            case counts, ece
            case meanPredictions = "mean_predictions"
            case meanTargets = "mean_targets"
        }
        init(_ r: ProbabilityCalibration.Reliability) {
            counts = r.counts
            meanPredictions = r.meanPredictions.map(\.finiteOrNil)
            meanTargets = r.meanTargets.map(\.finiteOrNil)
            ece = r.expectedCalibrationError.finiteOrNil
        }
    }
    var pooled: Bins
    var pixel: [Int]
    var atPixel: Bins?
    enum CodingKeys: String, CodingKey {
        case pooled, pixel
        case atPixel = "at_pixel"
    }
}

extension Double {
    /// The value, or nil for NaN and ±∞ (JSON null).
    var finiteOrNil: Double? { isFinite ? self : nil }
}

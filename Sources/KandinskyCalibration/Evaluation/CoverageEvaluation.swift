import KandinskyCore
import Synchronization

/// Coverage of calibrated curves on a test set, per pixel and pooled, at K nominal
/// confidences.
///
/// For bin i = 0 … K − 1 the nominal confidence is γ_i = (i + 0.5)/K. For the evaluated class c,
/// a target pixel (T[n, c, h, w] = 1) with score s = 1 − P[n, c, h, w] is covered at bin i when
/// s ≤ threshold_i(h, w), where
/// - `at-or-above` (the default for conformal curves) and `interpolated` (the default for
///   linear ones): threshold_i is the curve read at level γ_i as
///   ``CalibratedCurves/threshold(atLevel:indexing:)`` reads it, for the pixelwise and the
///   marginal coverage alike;
/// - `reference` (the original notebook): threshold_i is curve index ⌊(i + 1)·Q/K⌋ − 1 for the
///   pixelwise coverage and ⌊(i + 0.5)·Q/K⌋ − 1 for the marginal coverage (indices below 0 are
///   clamped to 0), both compared with γ_i.
///
/// Pixelwise coverage_i(h, w) = (covered target pixels at (h, w) over the images) / (target
/// pixels at (h, w)); marginal coverage_i pools all images and pixels. The calibration error is
/// CE = (1/K) Σ_i |coverage_i − γ_i|; a pixel without targets has CE NaN. A NaN threshold (no
/// calibration data at that pixel) covers nothing.
public struct CoverageEvaluation: Sendable {
    /// K, the number of confidence bins.
    public var binCount: Int
    /// How confidences are read off the curves; nil for the curves' default
    /// (``CalibratedCurves/defaultIndexing``).
    public var indexing: ThresholdIndexing?
    /// How test scores are computed.
    public var precision: ScorePrecision
    /// The class evaluated.
    public var classIndex: Int

    /// - Precondition: K ≥ 1.
    public init(
        binCount: Int = 20, indexing: ThresholdIndexing? = nil, precision: ScorePrecision = .float,
        classIndex: Int = 1
    ) {
        precondition(binCount >= 1, "at least one bin is needed, got \(binCount)")
        self.binCount = binCount
        self.indexing = indexing
        self.precision = precision
        self.classIndex = classIndex
    }

    /// The nominal confidences γ_i = (i + 0.5)/K.
    public var confidences: [Double] { (0..<binCount).map { (Double($0) + 0.5) / Double(binCount) } }

    /// Coverage results.
    public struct Result: Sendable {
        /// γ_i, [K].
        public var confidences: [Double]
        /// Marginal coverage at each γ_i, [K].
        public var marginalCoverages: [Double]
        /// CE of the marginal coverage.
        public var marginalCalibrationError: Double
        /// CE of each pixel, [H, W], NaN where the test set has no target.
        public var pixelwiseCalibrationError: Tensor
        /// The mean of the non-NaN pixelwise CE values.
        public var meanPixelwiseCalibrationError: Double
        /// The number of target pixels of the class in the test set.
        public var targetCount: Int
    }

    /// Evaluates `curves` on probabilities and targets [N, C, H, W].
    ///
    /// - Throws: ``CalibrationError`` for mismatched shapes, a class index out of range, N = 0,
    ///   invalid probabilities or targets, or a class without any target pixel.
    /// - Complexity: O(N·H·W·K) for the class, split across cores.
    public func evaluate<P: QuantileScalar>(
        _ curves: CalibratedCurves, probabilities: ShapedArray<P>,
        targets: ShapedArray<UInt8>,
        probabilitiesSource: String = "probabilities", targetsSource: String = "targets",
        curvesSource: String = "curves"
    ) throws(CalibrationError) -> Result {
        try Accumulator(self, curves: curves, targetsSource: targetsSource, curvesSource: curvesSource).result(
            ofWhole: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
            targetsSource: targetsSource)
    }

    /// The counts of a coverage evaluation over a test set read shard by shard, images in order:
    /// after shards of N_1, N_2, … images, ``result()`` is bit for bit what
    /// ``CoverageEvaluation/evaluate(_:probabilities:targets:probabilitiesSource:targetsSource:curvesSource:)``
    /// gives for their concatenation along N, since every number it sums over images is an
    /// integer count.
    ///
    /// Memory: the thresholds and counts of the class, O(H·W·K), whatever the number of shards.
    package struct Accumulator: SpecializedAccumulator {
        /// The evaluation's settings.
        let evaluation: CoverageEvaluation
        /// The curves evaluated.
        let curves: CalibratedCurves
        /// The name of the whole set of targets, in the error of a class without targets.
        let targetsSource: String
        /// The name of the curves in error messages.
        let curvesSource: String
        /// The thresholds of the class [H·W, K] (pixel-major), then under `reference` indexing
        /// those of the marginal coverage, laid out alike (otherwise the marginal coverage reads
        /// the pixelwise ones); read when the first shard has passed its checks (the class must
        /// be one of the curves'), empty before.
        var thresholds: [Float] = []
        /// Covered target pixels per pixel and bin, [H·W, K].
        var pixelCounts: [Int32]
        /// Target pixels of the class per pixel, [H·W].
        var targetCounts: [Int32]
        /// Covered target pixels per bin against the marginal thresholds (`reference` indexing), [K].
        var marginalCounts: [Int]

        /// An accumulator of no images; `targetsSource` names the whole set of targets.
        package init(
            _ evaluation: CoverageEvaluation, curves: CalibratedCurves, targetsSource: String = "targets",
            curvesSource: String = "curves"
        ) {
            self.evaluation = evaluation
            self.curves = curves
            self.targetsSource = targetsSource
            self.curvesSource = curvesSource
            pixelCounts = [Int32](repeating: 0, count: curves.height * curves.width * evaluation.binCount)
            targetCounts = [Int32](repeating: 0, count: curves.height * curves.width)
            marginalCounts = [Int](repeating: 0, count: evaluation.binCount)
        }

        /// The indexing the thresholds are read with.
        var indexing: ThresholdIndexing { evaluation.indexing ?? curves.defaultIndexing }

        /// Counts the next images, [n, C, H, W], after the checks of the whole evaluation.
        ///
        /// - Throws: ``CalibrationError`` for mismatched shapes, curves that do not fit, a class
        ///   index out of range, n = 0, or invalid probabilities or targets.
        /// - Complexity: O(n·H·W·K) for the class, split across cores by pixel.
        mutating func count<P: QuantileScalar>(
            _ probabilities: ShapedArray<P>, _ shard: EvaluationShard
        ) throws(CalibrationError) {
            let c = evaluation.classIndex
            try TestSet(
                curves: curves, targets: shard.targets, probabilitiesSource: shard.probabilitiesSource,
                targetsSource: shard.targetsSource, curvesSource: curvesSource
            ).check(probabilities: probabilities, classIndex: c)
            let separateMarginal = indexing == .reference
            if thresholds.isEmpty {
                thresholds = evaluation.thresholds(curves, pixelwise: true, indexing: indexing)
                if separateMarginal {
                    thresholds += evaluation.thresholds(curves, pixelwise: false, indexing: indexing)
                }
            }
            let (n, classCount, pixels, k) = (
                probabilities.shape[0], curves.classCount, curves.height * curves.width, evaluation.binCount
            )
            let marginal = Mutex([Int](repeating: 0, count: k))
            let precision = evaluation.precision
            withShardPointers(probabilities, shard.targets) { pb, tb in
                thresholds.withUnsafeBufferPointer { thresholds in
                    pixelCounts.withUnsafeMutableBufferPointer { pixelCounts in
                        targetCounts.withUnsafeMutableBufferPointer { targetCounts in
                            let pt = UncheckedPointer(thresholds.baseAddress!)
                            let mt = separateMarginal ? UncheckedPointer(pt.pointer + pixels * k) : pt
                            let (cb, tc) = (
                                UncheckedPointer(pixelCounts.baseAddress!), UncheckedPointer(targetCounts.baseAddress!)
                            )
                            parallelFor(0..<pixels, chunkCount: 4 * availableCoreCount) { range in
                                var local = [Int](repeating: 0, count: k)
                                for image in 0..<n {
                                    let base = (image * classCount + c) * pixels
                                    for q in range where tb.pointer[base + q] == 1 {
                                        let s = precision.testScore(probability: Float(pb.pointer[base + q]))
                                        tc.pointer[q] += 1
                                        let thresholds = pt.pointer + q * k
                                        let counts = cb.pointer + q * k
                                        for i in 0..<k where s <= thresholds[i] { counts[i] += 1 }
                                        if separateMarginal {
                                            let marginalAt = mt.pointer + q * k
                                            for i in 0..<k where s <= marginalAt[i] { local[i] += 1 }
                                        }
                                    }
                                }
                                if separateMarginal {
                                    marginal.withLock { total in for i in 0..<k { total[i] += local[i] } }
                                }
                            }
                        }
                    }
                }
            }
            let counted = marginal.withLock { $0 }
            for i in 0..<k { marginalCounts[i] += counted[i] }
        }

        /// The coverage of the images added.
        ///
        /// - Throws: ``CalibrationError/Kind/classWithoutTargets`` (naming the accumulator's
        ///   `targetsSource`) when no image added has a target pixel of the class.
        /// - Precondition: at least one shard was added.
        package func result() throws(CalibrationError) -> Result {
            precondition(!thresholds.isEmpty, "no shard was added")
            let (pixels, k, c) = (curves.height * curves.width, evaluation.binCount, evaluation.classIndex)
            let gammas = evaluation.confidences
            // Without `reference` indexing the marginal coverage counts the pixelwise covered pixels.
            var marginalCounts = self.marginalCounts
            if indexing != .reference {
                for q in 0..<pixels { for i in 0..<k { marginalCounts[i] += Int(pixelCounts[q * k + i]) } }
            }
            let targetTotal = targetCounts.reduce(0) { $0 + Int($1) }
            guard targetTotal > 0 else { throw .classWithoutTargets(source: targetsSource, classIndex: c) }
            let marginalCoverages = marginalCounts.map { Double($0) / Double(targetTotal) }
            var ceSum = 0.0
            var ceCount = 0
            let pixelCE = Tensor(shape: [curves.height, curves.width]) { out in
                for q in 0..<pixels {
                    guard targetCounts[q] > 0 else {
                        out[q] = .nan
                        continue
                    }
                    var error = 0.0
                    for i in 0..<k {
                        error += abs(Double(pixelCounts[q * k + i]) / Double(targetCounts[q]) - gammas[i])
                    }
                    out[q] = Float(error / Double(k))
                    ceSum += error / Double(k)
                    ceCount += 1
                }
            }
            return Result(
                confidences: gammas, marginalCoverages: marginalCoverages,
                marginalCalibrationError: CoverageEvaluation.calibrationError(
                    coverages: marginalCoverages, confidences: gammas),
                pixelwiseCalibrationError: pixelCE, meanPixelwiseCalibrationError: ceSum / Double(ceCount),
                targetCount: targetTotal)
        }

        /// ``count(_:_:)`` on Float32 probabilities (``SpecializedAccumulator``).
        package mutating func accumulate(_ p: Tensor, _ s: EvaluationShard) throws(CalibrationError) { try count(p, s) }
        /// ``count(_:_:)`` on Float16 probabilities.
        package mutating func accumulate(_ p: HalfTensor, _ s: EvaluationShard) throws(CalibrationError) {
            try count(p, s)
        }
    }

    /// (1/K) Σ_i |coverage_i − γ_i|.
    package static func calibrationError(coverages: [Double], confidences: [Double]) -> Double {
        precondition(
            coverages.count == confidences.count, "\(coverages.count) coverages for \(confidences.count) confidences")
        return zip(coverages, confidences).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(coverages.count)
    }

    /// The curve index of bin i under `reference` indexing: ⌊(i + 1)·Q/K⌋ − 1 (pixelwise) or
    /// ⌊(i + 0.5)·Q/K⌋ − 1 (marginal), at least 0.
    package static func referenceIndex(bin i: Int, binCount k: Int, levelCount q: Int, pixelwise: Bool) -> Int {
        let index = pixelwise ? ((i + 1) * q) / k - 1 : ((2 * i + 1) * q) / (2 * k) - 1
        return min(max(index, 0), q - 1)
    }

    /// Thresholds of the class at each pixel and bin, pixel-major [H·W, K].
    func thresholds(_ curves: CalibratedCurves, pixelwise: Bool, indexing: ThresholdIndexing) -> [Float] {
        let (q, classCount, pixels, k) = (curves.levelCount, curves.classCount, curves.height * curves.width, binCount)
        let gammas = confidences
        return [Float](unsafeUninitializedCapacity: pixels * k) { out, initialized in
            curves.curves.withUnsafeBufferPointer { curve in
                for i in 0..<k {
                    let (lower, upper, t): (Int, Int, Double)
                    if indexing == .reference {
                        let index = Self.referenceIndex(bin: i, binCount: k, levelCount: q, pixelwise: pixelwise)
                        (lower, upper, t) = (index, index, 0)
                    } else {
                        (lower, upper, t) = CalibratedCurves.curveIndices(
                            level: gammas[i], levelCount: q, indexing: indexing)
                    }
                    let a = curve.baseAddress! + (lower * classCount + classIndex) * pixels
                    let b = curve.baseAddress! + (upper * classCount + classIndex) * pixels
                    let weight = Float(t)
                    for p in 0..<pixels {
                        out[p * k + i] = t == 0 ? a[p] : CalibratedCurves.interpolate(a[p], b[p], weight)
                    }
                }
            }
            initialized = pixels * k
        }
    }
}

/// What the evaluations of calibrated curves read besides the probabilities: the curves, the
/// targets T [N, C, H, W], and the names of probabilities, targets and curves in error
/// messages (file paths); and the checks of test sets they share.
struct TestSet {
    /// The curves evaluated.
    let curves: CalibratedCurves
    /// T [N, C, H, W], 0 or 1.
    let targets: ShapedArray<UInt8>
    /// The name of the probabilities in error messages.
    let probabilitiesSource: String
    /// The name of the targets in error messages.
    let targetsSource: String
    /// The name of the curves in error messages.
    let curvesSource: String

    /// The checks of the curves against probabilities and the targets, in this order:
    /// probabilities and targets are [N, C, H, W] with the same shape, N ≥ 1 and H·W ≥ 1; the
    /// curves fit that shape; `classIndex`, when given, is one of the curves' classes; then every
    /// probability in [0, 1] and every target 0 or 1
    /// (``validate(probabilities:targets:probabilitiesSource:targetsSource:)``).
    func check<P: QuantileScalar>(probabilities: ShapedArray<P>, classIndex: Int? = nil) throws(CalibrationError) {
        try InputValidation.checkShapes(
            probabilities: probabilities.shape, targets: targets.shape,
            probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
        try curves.checkCompatible(withProbabilitiesShape: probabilities.shape, curvesSource: curvesSource)
        if let classIndex { try InputValidation.checkClassIndex(classIndex, classCount: curves.classCount) }
        try Self.validate(
            probabilities: probabilities, targets: targets,
            probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
    }

    /// Every probability in [0, 1] (not NaN) and every target 0 or 1.
    static func validate<P: QuantileScalar>(
        probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
        probabilitiesSource: String, targetsSource: String
    ) throws(CalibrationError) {
        let shape = probabilities.shape
        let badProbability = probabilities.withUnsafeBufferPointer { p in
            let pb = UncheckedPointer(p.baseAddress!)
            return InputValidation.firstFailure(in: 0..<p.count) { range in
                for i in range {
                    let v = Float(pb.pointer[i])
                    if !(v >= 0 && v <= 1) { return i }
                }
                return nil
            }
        }
        if let bad = badProbability {
            throw .invalidProbability(
                source: probabilitiesSource, value: Float(probabilities.withUnsafeBufferPointer { $0[bad] }),
                at: InputValidation.multiIndex(bad, shape: shape))
        }
        let badTarget = targets.withUnsafeBufferPointer { t in t.firstIndex { $0 > 1 } }
        if let bad = badTarget {
            throw .invalidTarget(
                source: targetsSource, value: Double(targets.withUnsafeBufferPointer { $0[bad] }),
                at: InputValidation.multiIndex(bad, shape: shape))
        }
    }
}

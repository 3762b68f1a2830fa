import KandinskyCore
import Synchronization

/// Calibration of the raw (uncalibrated) probabilities of one class: the binned expected
/// calibration error per pixel, reliability-diagram data, and how often the class occurs.
///
/// Predictions p = P[n, c, h, w] above `minimumProbability` (0.02 by default, which keeps the
/// overwhelming number of confident negatives from drowning the statistic) fall into
/// equal-width bins. For a set of predictions,
/// ECE = Σ_b (n_b / n) · |mean target_b − mean p_b| = (1/n) Σ_b |Σ_{i ∈ b} (p_i − y_i)|; it is
/// NaN when no prediction is counted. How p is binned depends on `precision`:
/// - ``ScorePrecision/float`` (the default, exact): B bins, b = min(⌊p·B⌋, B − 1) in Float32,
///   p > `minimumProbability` compared in Float32, residuals p − y exact.
/// - ``ScorePrecision/halfProbabilities`` (the original implementation, whose predictions are
///   a float16 array and whose binned ECE computes `((f + 0) / (1 / B)).astype(int)`, numpy
///   float16 arithmetic throughout): with h = Float16(p) and w = Float16(1/B),
///   b = ⌊Float16(h / w)⌋ (the quotient computed in Float32 and rounded once to Float16, which is
///   what numpy's float16 division does), so predictions just below a bin edge can move up one
///   bin, and B + 1 bins are kept: bin B holds the predictions whose rounded quotient reaches B
///   (h ≥ 0.99951 for B = 20, in particular h = 1), where the Float32 rule clamps to B − 1. A
///   prediction is counted when h > Float16(`minimumProbability`) (compared in Float16), and the
///   ECE sums the residuals Float16(h − y) (rounded to Float16 as numpy's float16 subtraction
///   does). The mean prediction of a bin is the mean of the h, its mean target the mean of y.
public struct ProbabilityCalibration: Sendable {
    /// B, the number of equal-width probability bins.
    public var binCount: Int
    /// Only predictions strictly above this are counted.
    public var minimumProbability: Float
    /// The class evaluated.
    public var classIndex: Int
    /// How predictions are binned: exactly in Float32 (`float`) or as the original did on
    /// Float16 predictions (`half-probabilities`); see ``ProbabilityCalibration``.
    public var precision: ScorePrecision

    /// - Precondition: B ≥ 1.
    public init(
        binCount: Int = 20, minimumProbability: Float = 0.02, classIndex: Int = 1,
        precision: ScorePrecision = .float
    ) {
        precondition(binCount >= 1, "at least one bin is needed, got \(binCount)")
        self.binCount = binCount
        self.minimumProbability = minimumProbability
        self.classIndex = classIndex
        self.precision = precision
    }

    /// The number of bins kept: B in `float` precision, B + 1 in `half-probabilities`.
    public var keptBinCount: Int { precision == .halfProbabilities ? binCount + 1 : binCount }

    /// The bin of a prediction p under `half-probabilities` binning: ⌊Float16(h / w)⌋ with
    /// h = Float16(p), w = Float16(1/B), at most B.
    @inline(__always)
    static func halfBin(_ h: Float16, width: Float16, binCount: Int) -> Int {
        min(Int(Float16(Float(h) / Float(width))), binCount)
    }

    /// Reliability-diagram data of a set of predictions.
    ///
    /// Bin b covers [b/B, (b + 1)/B); there are B bins (``ProbabilityCalibration/keptBinCount``),
    /// or B + 1 in `half-probabilities` precision, whose last bin holds predictions of about 1.
    public struct Reliability: Sendable, Equatable {
        /// Predictions counted per bin, [B] or [B + 1].
        public var counts: [Int]
        /// Mean prediction per bin (NaN for an empty bin).
        public var meanPredictions: [Double]
        /// Fraction of positive targets per bin (NaN for an empty bin).
        public var meanTargets: [Double]
        /// The ECE of these bins, (1/n) Σ_b |Σ_{i ∈ b} (p_i − y_i)|.
        public var expectedCalibrationError: Double
        /// B, the number of equal-width bins that tile [0, 1].
        public var binCount: Int

        /// Bins from their sums; `residualSums` (Σ (p − y) per bin, as rounded by the binning)
        /// default to predictionSums − targetSums.
        package init(
            counts: [Int], predictionSums: [Double], targetSums: [Double], residualSums: [Double]? = nil,
            binCount: Int? = nil
        ) {
            self.counts = counts
            self.binCount = binCount ?? counts.count
            meanPredictions = zip(predictionSums, counts).map { $1 > 0 ? $0 / Double($1) : .nan }
            meanTargets = zip(targetSums, counts).map { $1 > 0 ? $0 / Double($1) : .nan }
            let total = counts.reduce(0, +)
            let residuals = residualSums ?? zip(predictionSums, targetSums).map { $0 - $1 }
            expectedCalibrationError = total == 0 ? .nan : residuals.reduce(0) { $0 + abs($1) } / Double(total)
        }
    }

    /// The results.
    public struct Result: Sendable {
        /// ECE of each pixel over the images, [H, W], NaN where nothing is counted.
        public var pixelwiseECE: Tensor
        /// The mean of the non-NaN pixelwise ECE values.
        public var meanPixelwiseECE: Double
        /// The fraction of images with the class at each pixel, [H, W].
        public var structureFrequency: Tensor
        /// Bins pooled over all images and pixels.
        public var pooled: Reliability
        /// Bins at the pixel asked for, if any.
        public var atPixel: Reliability?
    }

    /// Evaluates probabilities and targets [N, C, H, W].
    ///
    /// - Parameters:
    ///   - probabilities: P [N, C, H, W] in [0, 1], Float32 or Float16.
    ///   - targets: T [N, C, H, W], 0 or 1.
    ///   - pixel: (h, w) whose own reliability data is wanted.
    ///   - probabilitiesSource: the name of the probabilities in error messages (a file path).
    ///   - targetsSource: the name of the targets in error messages (a file path).
    /// - Throws: ``CalibrationError`` for mismatched shapes, N = 0, a class index out of range,
    ///   invalid probabilities or targets, or a pixel outside the image.
    /// - Complexity: O(N·H·W) for the class, split across cores; O(H·W·B) scratch.
    public func evaluate<P: QuantileScalar>(
        probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
        pixel: (h: Int, w: Int)? = nil,
        probabilitiesSource: String = "probabilities",
        targetsSource: String = "targets"
    ) throws(CalibrationError) -> Result {
        try Accumulator(self, pixel: pixel).result(
            ofWhole: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
            targetsSource: targetsSource)
    }

    /// The sums of a calibration evaluation over a test set read shard by shard, images in order:
    /// after shards of N_1, N_2, … images, ``result()`` is bit for bit what
    /// ``ProbabilityCalibration/evaluate(probabilities:targets:pixel:probabilitiesSource:targetsSource:)``
    /// gives for their concatenation along N. The counts are integers, and each floating-point
    /// sum belongs to one pixel and bin and adds its images in order 0 ..< N, as one pass over
    /// the whole set does (work is split across cores by pixel, never by image).
    ///
    /// Memory: O(H·W·B) sums, whatever the number of shards.
    package struct Accumulator: SpecializedAccumulator {
        /// The evaluation's settings.
        let evaluation: ProbabilityCalibration
        /// The pixel whose own reliability data is wanted.
        let pixel: (h: Int, w: Int)?
        /// [C, H, W] of the first shard, which every later one must share; empty before.
        var imageShape: [Int] = []
        /// N, the images added.
        var imageCount = 0
        /// The sums of each pixel and bin, [H·W, bins].
        var sums: [Bin] = []
        /// The images with the class per pixel, [H·W].
        var present: [Int32] = []

        /// The sums of the predictions of one pixel and bin.
        struct Bin {
            /// The predictions counted.
            var count: Int32 = 0
            /// Σ t.
            var targets: Int32 = 0
            /// Σ p (Σ h in `half-probabilities`).
            var predictions = 0.0
            /// Σ Float16(h − t) (`half-probabilities` only).
            var residuals = 0.0

            /// Counts prediction p with target t.
            @inline(__always)
            mutating func add(_ p: Double, target: Int32) {
                count += 1
                predictions += p
                targets += target
            }
        }

        /// An accumulator of no images.
        package init(_ evaluation: ProbabilityCalibration, pixel: (h: Int, w: Int)? = nil) {
            self.evaluation = evaluation
            self.pixel = pixel
        }

        /// Sums the next images, [n, C, H, W], after the checks of the whole evaluation; C, H and
        /// W must be those of the first shard.
        ///
        /// - Throws: ``CalibrationError`` for mismatched shapes, n = 0, a class index out of range,
        ///   or invalid probabilities or targets.
        /// - Complexity: O(n·H·W) for the class, split across cores by pixel.
        mutating func sum<P: QuantileScalar>(
            _ probabilities: ShapedArray<P>, _ shard: EvaluationShard
        ) throws(CalibrationError) {
            let (targets, probabilitiesSource, targetsSource) = shard
            try InputValidation.checkShapes(
                probabilities: probabilities.shape, targets: targets.shape,
                probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            let shape = probabilities.shape
            try InputValidation.checkClassIndex(evaluation.classIndex, classCount: shape[1])
            try TestSet.validate(
                probabilities: probabilities, targets: targets,
                probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            let bins = evaluation.keptBinCount
            let half = evaluation.precision == .halfProbabilities
            if imageShape.isEmpty {
                imageShape = Array(shape.dropFirst())
                let pixels = shape[2] * shape[3]
                sums = [Bin](repeating: Bin(), count: pixels * bins)
                present = [Int32](repeating: 0, count: pixels)
            } else if Array(shape.dropFirst()) != imageShape {
                throw .shapeMismatch(
                    source: probabilitiesSource, field: "shape",
                    expected: "[n, \(imageShape.map(String.init).joined(separator: ", "))] as the earlier images",
                    found: shape)
            }
            let (n, classCount, pixels) = (shape[0], shape[1], shape[2] * shape[3])
            let c = evaluation.classIndex
            let minimum = evaluation.minimumProbability
            let halfMinimum = Float16(minimum)
            let halfWidth = Float16(1 / Double(evaluation.binCount))
            let equalBins = evaluation.binCount
            withShardPointers(probabilities, targets) { pb, tb in
                sums.withUnsafeMutableBufferPointer { sums in
                    present.withUnsafeMutableBufferPointer { present in
                        let (sb, fb) = (UncheckedPointer(sums.baseAddress!), UncheckedPointer(present.baseAddress!))
                        parallelFor(0..<pixels, chunkCount: 4 * availableCoreCount) { range in
                            for image in 0..<n {
                                let base = (image * classCount + c) * pixels
                                for q in range {
                                    let target = Int32(tb.pointer[base + q])
                                    fb.pointer[q] += target
                                    if half {
                                        let h = Float16(Float(pb.pointer[base + q]))
                                        guard h > halfMinimum else { continue }
                                        let i =
                                            q * bins
                                            + ProbabilityCalibration.halfBin(
                                                h, width: halfWidth, binCount: equalBins)
                                        sb.pointer[i].add(Double(h), target: target)
                                        sb.pointer[i].residuals += Double(Float16(Float(h) - Float(target)))
                                    } else {
                                        let probability = Float(pb.pointer[base + q])
                                        guard probability > minimum else { continue }
                                        let i = q * bins + min(Int(probability * Float(bins)), bins - 1)
                                        sb.pointer[i].add(Double(probability), target: target)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            imageCount += n
        }

        /// The calibration of the images added.
        ///
        /// - Throws: ``CalibrationError/Kind/invalidParameter`` for a pixel outside the image.
        /// - Precondition: at least one shard was added.
        package func result() throws(CalibrationError) -> Result {
            precondition(imageCount > 0, "no shard was added")
            let (height, width) = (imageShape[1], imageShape[2])
            if let pixel, !(0..<height).contains(pixel.h) || !(0..<width).contains(pixel.w) {
                throw .invalidParameter(
                    "pixel", problem: "(\(pixel.h), \(pixel.w)) is outside the \(height) × \(width) image")
            }
            let (pixels, bins, n) = (height * width, evaluation.keptBinCount, imageCount)
            let half = evaluation.precision == .halfProbabilities
            /// Σ (p − y) of bin i, as rounded by the binning.
            func residual(_ i: Int) -> Double {
                half ? sums[i].residuals : sums[i].predictions - Double(sums[i].targets)
            }
            var pooledCounts = [Int](repeating: 0, count: bins)
            var pooledPredictions = [Double](repeating: 0, count: bins)
            var pooledTargets = [Double](repeating: 0, count: bins)
            var pooledResiduals = [Double](repeating: 0, count: bins)
            var eceSum = 0.0
            var eceCount = 0
            let ece = Tensor(shape: [height, width]) { out in
                for q in 0..<pixels {
                    var total = 0
                    var gap = 0.0
                    for b in 0..<bins {
                        let i = q * bins + b
                        total += Int(sums[i].count)
                        gap += abs(residual(i))
                        pooledCounts[b] += Int(sums[i].count)
                        pooledPredictions[b] += sums[i].predictions
                        pooledTargets[b] += Double(sums[i].targets)
                        pooledResiduals[b] += residual(i)
                    }
                    if total == 0 {
                        out[q] = .nan
                    } else {
                        out[q] = Float(gap / Double(total))
                        eceSum += gap / Double(total)
                        eceCount += 1
                    }
                }
            }
            let frequency = Tensor(shape: [height, width]) { out in
                for q in 0..<pixels { out[q] = Float(Double(present[q]) / Double(n)) }
            }
            var atPixel: Reliability?
            if let pixel {
                let q = pixel.h * width + pixel.w
                let range = (q * bins)..<(q * bins + bins)
                atPixel = Reliability(
                    counts: range.map { Int(sums[$0].count) }, predictionSums: range.map { sums[$0].predictions },
                    targetSums: range.map { Double(sums[$0].targets) }, residualSums: range.map(residual),
                    binCount: evaluation.binCount)
            }
            return Result(
                pixelwiseECE: ece, meanPixelwiseECE: eceCount == 0 ? .nan : eceSum / Double(eceCount),
                structureFrequency: frequency,
                pooled: Reliability(
                    counts: pooledCounts, predictionSums: pooledPredictions, targetSums: pooledTargets,
                    residualSums: half ? pooledResiduals : nil, binCount: evaluation.binCount),
                atPixel: atPixel)
        }

        /// ``sum(_:_:)`` on Float32 probabilities (``SpecializedAccumulator``).
        package mutating func accumulate(_ p: Tensor, _ s: EvaluationShard) throws(CalibrationError) { try sum(p, s) }
        /// ``sum(_:_:)`` on Float16 probabilities.
        package mutating func accumulate(_ p: HalfTensor, _ s: EvaluationShard) throws(CalibrationError) {
            try sum(p, s)
        }
    }
}

/// Zero-initialised heap scratch that worker threads fill at disjoint indices.
final class ScratchBuffer<Element: BitwiseCopyable & Numeric>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    init(count: Int) {
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }
    var shared: UncheckedPointer<Element> { UncheckedPointer(base) }
    subscript(index: Int) -> Element { base[index] }
    deinit { base.deallocate() }
}

import KandinskyCore
import Synchronization

/// Calibration of the raw (uncalibrated) probabilities of one class: the binned expected
/// calibration error per pixel, reliability-diagram data, and how often the class occurs.
///
/// Predictions p = P[n, c, h, w] above `minimumProbability` (0.02 by default, which keeps the
/// overwhelming number of confident negatives from drowning the statistic) fall into B
/// equal-width bins, bin b = min(⌊p·B⌋, B − 1). For a set of predictions,
/// ECE = Σ_b (n_b / n) · |mean target_b − mean p_b| = (1/n) Σ_b |Σ targets_b − Σ p_b|; it is NaN
/// when no prediction is counted.
public struct ProbabilityCalibration: Sendable {
    /// B, the number of equal-width probability bins.
    public var binCount: Int
    /// Only predictions strictly above this are counted.
    public var minimumProbability: Float
    /// The class evaluated.
    public var classIndex: Int

    /// - Precondition: B ≥ 1.
    public init(binCount: Int = 20, minimumProbability: Float = 0.02, classIndex: Int = 1) {
        precondition(binCount >= 1, "at least one bin is needed, got \(binCount)")
        self.binCount = binCount
        self.minimumProbability = minimumProbability
        self.classIndex = classIndex
    }

    /// Reliability-diagram data of a set of predictions.
    public struct Reliability: Sendable, Equatable {
        /// Predictions counted per bin, [B].
        public var counts: [Int]
        /// Mean prediction per bin (NaN for an empty bin), [B].
        public var meanPredictions: [Double]
        /// Fraction of positive targets per bin (NaN for an empty bin), [B].
        public var meanTargets: [Double]
        /// The ECE of these bins.
        public var expectedCalibrationError: Double

        init(counts: [Int], predictionSums: [Double], targetSums: [Double]) {
            self.counts = counts
            meanPredictions = zip(predictionSums, counts).map { $1 > 0 ? $0 / Double($1) : .nan }
            meanTargets = zip(targetSums, counts).map { $1 > 0 ? $0 / Double($1) : .nan }
            let total = counts.reduce(0, +)
            expectedCalibrationError = total == 0 ? .nan
                : zip(targetSums, predictionSums).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(total)
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
    ///   invalid probabilities or targets.
    /// - Complexity: O(N·H·W) for the class, split across cores; O(H·W·B) scratch.
    public func evaluate<P: QuantileScalar>(probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
                                            pixel: (h: Int, w: Int)? = nil,
                                            probabilitiesSource: String = "probabilities",
                                            targetsSource: String = "targets") throws(CalibrationError) -> Result {
        try Specialized.dispatch(probabilities,
            float: { (p: Tensor) throws(CalibrationError) -> Result in
                try specializedEvaluate(probabilities: p, targets: targets, pixel: pixel,
                                        probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            },
            half: { (p: HalfTensor) throws(CalibrationError) -> Result in
                try specializedEvaluate(probabilities: p, targets: targets, pixel: pixel,
                                        probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            })
    }

    func specializedEvaluate<P: QuantileScalar>(probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
                                            pixel: (h: Int, w: Int)? = nil,
                                            probabilitiesSource: String = "probabilities",
                                            targetsSource: String = "targets") throws(CalibrationError) -> Result {
        try InputValidation.checkShapes(probabilities: probabilities.shape, targets: targets.shape,
                                        probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
        let shape = probabilities.shape
        try InputValidation.checkClassIndex(classIndex, classCount: shape[1])
        try TestSet.validate(probabilities: probabilities, targets: targets,
                             probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
        if let pixel, !(0..<shape[2]).contains(pixel.h) || !(0..<shape[3]).contains(pixel.w) {
            throw .invalidParameter("pixel", problem: "(\(pixel.h), \(pixel.w)) is outside the \(shape[2]) × \(shape[3]) image")
        }
        let (n, classCount, pixels, bins) = (shape[0], shape[1], shape[2] * shape[3], binCount)
        let c = classIndex, minimum = minimumProbability
        // Per pixel and bin: count, Σ p, Σ t.
        let counts = ScratchBuffer<Int32>(count: pixels * bins)
        let predictionSums = ScratchBuffer<Double>(count: pixels * bins)
        let targetSums = ScratchBuffer<Int32>(count: pixels * bins)
        let present = ScratchBuffer<Int32>(count: pixels)
        probabilities.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                let pb = UncheckedPointer(p.baseAddress!), tb = UncheckedPointer(t.baseAddress!)
                let cb = counts.shared, sb = predictionSums.shared, yb = targetSums.shared, fb = present.shared
                parallelFor(0..<pixels, chunkCount: 4 * availableCoreCount) { range in
                    for image in 0..<n {
                        let base = (image * classCount + c) * pixels
                        for q in range {
                            let probability = Float(pb.pointer[base + q])
                            let target = Int32(tb.pointer[base + q])
                            fb.pointer[q] += target
                            guard probability > minimum else { continue }
                            let bin = min(Int(probability * Float(bins)), bins - 1)
                            cb.pointer[q * bins + bin] += 1
                            sb.pointer[q * bins + bin] += Double(probability)
                            yb.pointer[q * bins + bin] += target
                        }
                    }
                }
            }
        }
        var pooledCounts = [Int](repeating: 0, count: bins)
        var pooledPredictions = [Double](repeating: 0, count: bins)
        var pooledTargets = [Double](repeating: 0, count: bins)
        var eceSum = 0.0, eceCount = 0
        let ece = Tensor(shape: [shape[2], shape[3]]) { out in
            for q in 0..<pixels {
                var total = 0, gap = 0.0
                for b in 0..<bins {
                    let i = q * bins + b
                    total += Int(counts[i])
                    gap += abs(Double(targetSums[i]) - predictionSums[i])
                    pooledCounts[b] += Int(counts[i])
                    pooledPredictions[b] += predictionSums[i]
                    pooledTargets[b] += Double(targetSums[i])
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
        let frequency = Tensor(shape: [shape[2], shape[3]]) { out in
            for q in 0..<pixels { out[q] = Float(Double(present[q]) / Double(n)) }
        }
        var atPixel: Reliability?
        if let pixel {
            let q = pixel.h * shape[3] + pixel.w
            let range = (q * bins)..<(q * bins + bins)
            atPixel = Reliability(counts: range.map { Int(counts[$0]) }, predictionSums: range.map { predictionSums[$0] },
                                  targetSums: range.map { Double(targetSums[$0]) })
        }
        return Result(pixelwiseECE: ece, meanPixelwiseECE: eceCount == 0 ? .nan : eceSum / Double(eceCount),
                      structureFrequency: frequency,
                      pooled: Reliability(counts: pooledCounts, predictionSums: pooledPredictions, targetSums: pooledTargets),
                      atPixel: atPixel)
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

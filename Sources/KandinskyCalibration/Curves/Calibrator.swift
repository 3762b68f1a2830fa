import Foundation
import KandinskyCore

/// Turns calibration scores into non-conformity curves, pooling pixels as a grouping strategy
/// decides.
///
/// For each class c: if the strategy leaves c pixelwise, curve[k, c, h, w] is the quantile at
/// level k/(Q − 1) of the scores at (h, w); otherwise each group's scores are pooled and the
/// group's curve is written into all its pixels. Quantiles are numpy's NaN-aware linear
/// quantiles; a pixel or group without scores gets NaN. Curves never decrease in k.
///
/// The calibrator is generic over its strategy and never asks which one it runs.
public struct Calibrator<Grouping: NonconformityGrouping>: Sendable {
    /// The grouping strategy.
    public var grouping: Grouping
    /// Q, the number of curve points (levels k/(Q − 1), k = 0 … Q − 1). 100 by default, as in
    /// the original method: fine enough that interpolating between points costs nothing visible.
    public var levelCount: Int

    /// A calibrator with the given strategy and Q curve points.
    ///
    /// - Precondition: Q ≥ 2.
    public init(grouping: Grouping, levelCount: Int = 100) {
        precondition(levelCount >= 2, "at least two curve points are needed, got \(levelCount)")
        self.grouping = grouping
        self.levelCount = levelCount
    }

    /// Calibrates on the scores of a calibration set.
    ///
    /// - Throws: ``CalibrationError`` when a class has no target pixel, or the strategy rejects
    ///   its parameters.
    /// - Complexity: the pixelwise curves cost O(N·C·H·W·log Q); pooling costs O(N·H·W) per
    ///   grouped class; plus the strategy's own cost.
    public func calibrate(_ scores: ScoreStore) throws(CalibrationError) -> CalibratedCurves {
        for c in 0..<scores.classCount where scores.scoreCount(ofClass: c) == 0 {
            throw .classWithoutTargets(source: "targets", classIndex: c)
        }
        let levels = Quantiles.equallySpacedLevels(count: levelCount)
        let input = GroupingInput(scores: scores, levels: levels)
        let groups = try grouping.groups(for: input)
        guard groups.labels.count == scores.classCount,
              groups.labels.allSatisfy({ $0 == nil || $0!.shape == [scores.height, scores.width] }) else {
            preconditionFailure("strategy \(grouping.name) returned groups for \(groups.labels.count) classes or of the wrong shape; expected \(scores.classCount) classes of [\(scores.height), \(scores.width)]")
        }
        let (classCount, pixels) = (scores.classCount, scores.pixelCount)
        var sampleCounts: [[Int]?] = Array(repeating: nil, count: classCount)
        var curves = Tensor(shape: [levelCount, classCount, scores.height, scores.width], repeating: .nan)
        for c in 0..<classCount {
            if let labels = groups.labels[c] {
                let (pooled, counts) = scores.pooledCurves(ofClass: c, labels: labels,
                                                           groupCount: groups.groupCounts[c], levels: levels)
                sampleCounts[c] = counts
                let groupCount = groups.groupCounts[c]
                curves.withUnsafeMutableBufferPointer { out in
                    pooled.withUnsafeBufferPointer { pool in
                        labels.withUnsafeBufferPointer { l in
                            for k in 0..<levelCount {
                                let row = out.baseAddress! + (k * classCount + c) * pixels
                                for p in 0..<pixels { row[p] = pool[k * groupCount + Int(l[p])] }
                            }
                        }
                    }
                }
            } else {
                let pixelwise = input.pixelwiseCurves(ofClass: c)
                curves.withUnsafeMutableBufferPointer { out in
                    pixelwise.withUnsafeBufferPointer { source in
                        for k in 0..<levelCount {
                            (out.baseAddress! + (k * classCount + c) * pixels)
                                .update(from: source.baseAddress! + k * pixels, count: pixels)
                        }
                    }
                }
            }
        }
        #if KANDINSKY_INTERNAL_CHECKS
        curves.withUnsafeBufferPointer { c in
            let plane = classCount * pixels
            for k in 1..<levelCount {
                for i in 0..<plane where !c[i].isNaN {
                    precondition(c[k * plane + i] >= c[(k - 1) * plane + i], "curve \(i) decreases at level index \(k)")
                }
            }
        }
        #endif
        let parameters = CalibratedCurves.jsonString(grouping.parameters)
        return CalibratedCurves(curves: curves, method: grouping.name, parameters: parameters,
                                calibrationImageCount: scores.imageCount, precision: scores.precision, rule: .linear,
                                groups: groups, groupSampleCounts: sampleCounts)
    }

    /// Computes the scores of `probabilities` and `targets` ([N, C, H, W]) and calibrates on them.
    public func calibrate<P: QuantileScalar>(probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
                                             precision: ScorePrecision = .float) throws(CalibrationError) -> CalibratedCurves {
        try calibrate(ScoreStore(probabilities: probabilities, targets: targets, precision: precision))
    }
}

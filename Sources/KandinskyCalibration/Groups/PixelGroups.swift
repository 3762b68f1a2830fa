import Foundation
import KandinskyCore

/// Which pixel locations a grouping strategy pools, per class.
///
/// For class c, `labels[c]` is either nil (every pixel keeps its own, pixelwise curve) or an
/// [H, W] label map whose values 0..<`groupCounts[c]` name the group of each pixel; all scores
/// of a group (every calibration image × every pixel of the group) are pooled into one curve.
public struct PixelGroups: Sendable, Equatable {
    /// Per class: nil for pixelwise, else an Int32 [H, W] map of group ids.
    public var labels: [ShapedArray<Int32>?]
    /// Per class: the number of groups G (ids 0..<G), 0 for a pixelwise class.
    public var groupCounts: [Int]
    /// What the strategy (and the calibrator) found, by name: for example `theta` and
    /// `objective` for the annulus search, `group_split` when a ``GroupSplit`` divided the
    /// images. Recorded in the calibrated-model metadata, one key each, as
    /// ``Finding/metadataValue``.
    public var findings: [String: Finding]

    /// Groups from per-class label maps.
    ///
    /// - Precondition: every map is [height, width] with labels in 0..<its group count.
    public init(labels: [ShapedArray<Int32>?], groupCounts: [Int], findings: [String: Finding] = [:]) {
        precondition(
            labels.count == groupCounts.count,
            "\(labels.count) label maps but \(groupCounts.count) group counts")
        for (c, map) in labels.enumerated() {
            if let map {
                precondition(groupCounts[c] >= 1, "class \(c) has a label map but \(groupCounts[c]) groups")
                map.withUnsafeBufferPointer { l in
                    precondition(
                        l.allSatisfy { $0 >= 0 && Int($0) < groupCounts[c] },
                        "class \(c) has labels outside 0..<\(groupCounts[c])")
                }
            } else {
                precondition(groupCounts[c] == 0, "pixelwise class \(c) must have 0 groups, got \(groupCounts[c])")
            }
        }
        self.labels = labels
        self.groupCounts = groupCounts
        self.findings = findings
    }

    /// Findings of several classes as one: one class's findings as they are; for several, each
    /// name maps to a ``Finding/perClass(_:)`` value from class index to that class's finding
    /// (a class without the name is left out).
    public static func combining(_ perClass: [(classIndex: Int, findings: [String: Finding])]) -> [String: Finding] {
        guard perClass.count > 1 else { return perClass.first?.findings ?? [:] }
        var combined: [String: [Int: Finding]] = [:]
        for entry in perClass {
            for (name, value) in entry.findings { combined[name, default: [:]][entry.classIndex] = value }
        }
        return combined.mapValues { .perClass($0) }
    }

    /// Every class pixelwise.
    public static func pixelwise(classCount: Int) -> PixelGroups {
        PixelGroups(
            labels: Array(repeating: nil, count: classCount), groupCounts: Array(repeating: 0, count: classCount))
    }
}

/// What a grouping strategy sees: the scores and, on demand, the pixelwise curves.
///
/// Pixelwise curves are computed the first time a class's curves are asked for and then shared
/// with the calibrator, so a strategy that does not need them (such as ``ImagewiseGrouping``)
/// costs nothing for them.
public struct GroupingInput: Sendable {
    /// The calibration scores.
    public let scores: ScoreStore
    /// The Q curve levels, ascending in [0, 1].
    public let levels: [Double]
    let cache: CurveCache

    /// Creates the input for a strategy.
    package init(scores: ScoreStore, levels: [Double]) {
        self.scores = scores
        self.levels = levels
        self.cache = CurveCache(classCount: scores.classCount)
    }

    /// The descriptive pixelwise curves of class `c`, [Q, H, W]: the linear quantiles of the
    /// scores the strategy is given, NaN where a pixel has none (see
    /// `ScoreStore.pixelwiseCurves(ofClass:levels:rule:)`). Features for choosing groups, not
    /// thresholds: the calibrator sets thresholds with its own rule.
    public func pixelwiseCurves(ofClass c: Int) -> Tensor {
        cache.curves(ofClass: c) { scores.pixelwiseCurves(ofClass: c, levels: levels) }
    }

    /// The pixelwise curve values of class `c` at level indices `indices`, as features
    /// [H·W, indices.count] row-major (NaN rows for pixels without scores).
    public func curveFeatures(ofClass c: Int, atLevelIndices indices: [Int]) -> Tensor {
        let curves = pixelwiseCurves(ofClass: c)
        let pixels = scores.pixelCount
        precondition(
            indices.allSatisfy { $0 >= 0 && $0 < levels.count },
            "level indices \(indices) are outside 0..<\(levels.count)")
        return Tensor(shape: [pixels, indices.count]) { out in
            curves.withUnsafeBufferPointer { curve in
                for p in 0..<pixels {
                    for (j, k) in indices.enumerated() { out[p * indices.count + j] = curve[k * pixels + p] }
                }
            }
        }
    }
}

/// Lazily computed per-class curves shared between copies of a ``GroupingInput``.
final class CurveCache: @unchecked Sendable {
    private var curves: [Tensor?]
    private let lock = NSLock()

    init(classCount: Int) { curves = Array(repeating: nil, count: classCount) }

    func curves(ofClass c: Int, compute: () -> Tensor) -> Tensor {
        lock.lock()
        defer { lock.unlock() }
        if let cached = curves[c] { return cached }
        let computed = compute()
        curves[c] = computed
        return computed
    }
}

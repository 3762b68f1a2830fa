import Foundation
import KandinskyCore

/// Which calibration images choose the groups and which set the thresholds.
///
/// The conformal guarantee holds for groups fixed before the threshold-setting scores are
/// seen. A strategy that chooses its groups from the scores (k-means, the annulus search; see
/// ``NonconformityGrouping/selectsGroupsFromScores``) therefore gets them from one part of the
/// images and its thresholds from the rest.
public enum GroupSplit: Sendable, Equatable, Codable {
    /// Groups and thresholds from all images: the paper's variant. Not covered by the
    /// guarantee: pixels whose calibration curves happened to be low end up sharing a low
    /// threshold (selection bias), so the sets undercover.
    case allImages
    /// Groups from round(F·N) images drawn with the calibrator's seed (at least 1 and, with
    /// N ≥ 2, at most N − 1), thresholds from the others.
    case fraction(Double)

    /// The default of each rule: half the images for `conformal`, all images for `linear`
    /// (the original's behaviour).
    public static func `default`(for rule: QuantileRule) -> GroupSplit {
        rule == .conformal ? .fraction(0.5) : .allImages
    }
}

/// What a pixel or group that cannot reach a level takes instead of +∞ (conformal rule only).
///
/// A fallback threshold is a trade of guarantee for set size: it carries the coarser unit's
/// guarantee over that unit's pixels, not a guarantee for the pixels that use it.
public enum ThresholdFallback: String, Sendable, CaseIterable, Codable {
    /// +∞: the class is always in the set there. Keeps every pool's guarantee. The default.
    case none
    /// For classes the strategy groups: each pixel takes its own pixelwise threshold where its
    /// scores reach the level and its group's elsewhere (classes left pixelwise are unchanged).
    case group
    /// The class's image-level threshold (all its pixels pooled; itself +∞ when even they
    /// cannot reach the level).
    case image
}

/// Turns calibration scores into non-conformity curves, pooling pixels as a grouping strategy
/// decides.
///
/// For each class c: if the strategy leaves c pixelwise, curve[k, c, h, w] is the threshold at
/// level k/(Q − 1) of the scores at (h, w); otherwise each group's scores are pooled and the
/// group's threshold is written into all its pixels. Thresholds follow ``rule``
/// (``QuantileRule/conformal`` by default: +∞ where a pool cannot reach a level;
/// ``QuantileRule/linear``: numpy's linear quantiles, NaN where a pool has no score). Curves
/// never decrease in k.
///
/// Guarantee (conformal rule, groups fixed before the threshold-setting images are seen, i.e.
/// a strategy that does not look at the scores or a ``GroupSplit/fraction(_:)`` split, and test
/// images exchangeable with the threshold-setting ones): for every pool P (a pixel of a
/// pixelwise class, a group of a grouped class) and every stored level ℓ, a test image with
/// target pixels of the class in P has in expectation at least ℓ of them in their sets.
///
/// The calibrator is generic over its strategy and never asks which one it runs.
public struct Calibrator<Grouping: NonconformityGrouping>: Sendable {
    /// The grouping strategy.
    public var grouping: Grouping
    /// Q, the number of curve points (levels k/(Q − 1), k = 0 … Q − 1).
    public var levelCount: Int
    /// How pooled scores become thresholds.
    public var rule: QuantileRule
    /// Which images choose the groups of a strategy that chooses them from the scores.
    public var groupSplit: GroupSplit
    /// What a pool that cannot reach a level takes (conformal rule only).
    public var fallback: ThresholdFallback
    /// Seed of the group split's draw.
    public var seed: UInt64

    /// The default Q of a rule: 101 for `conformal` (levels 0, 0.01, …, 1, so every α that is a
    /// multiple of 0.01 is read exactly by ``ThresholdIndexing/atOrAbove``), 100 for `linear`
    /// (the original's `np.linspace(0, 1, 100)`).
    public static func defaultLevelCount(for rule: QuantileRule) -> Int { rule == .conformal ? 101 : 100 }

    /// A calibrator.
    ///
    /// - Parameters:
    ///   - grouping: The strategy that decides which pixels of each class share a threshold.
    ///   - levelCount: Q; nil for ``defaultLevelCount(for:)``.
    ///   - rule: How pooled scores become thresholds (see ``QuantileRule``).
    ///   - groupSplit: nil for ``GroupSplit/default(for:)``.
    ///   - fallback: What a pool that cannot reach a level takes (conformal rule only).
    ///   - seed: Seed of the group split's draw.
    /// - Precondition: Q ≥ 2; a split fraction in (0, 1).
    public init(
        grouping: Grouping, levelCount: Int? = nil, rule: QuantileRule = .conformal, groupSplit: GroupSplit? = nil,
        fallback: ThresholdFallback = .none, seed: UInt64 = 0
    ) {
        let levelCount = levelCount ?? Self.defaultLevelCount(for: rule)
        precondition(levelCount >= 2, "at least two curve points are needed, got \(levelCount)")
        let split = groupSplit ?? .default(for: rule)
        if case .fraction(let f) = split { precondition(f > 0 && f < 1, "group split fraction \(f) is outside (0, 1)") }
        self.grouping = grouping
        self.levelCount = levelCount
        self.rule = rule
        self.groupSplit = split
        self.fallback = fallback
        self.seed = seed
    }

    /// The images that choose the groups and those that set the thresholds, both ascending.
    public func splitImages(count n: Int) -> (grouping: [Int], thresholds: [Int]) {
        guard grouping.selectsGroupsFromScores, case .fraction(let f) = groupSplit else {
            return (Array(0..<n), Array(0..<n))
        }
        var generator = SeededGenerator(seed: seed)
        let order = Array(0..<n).shuffled(using: &generator)
        let groupCount = n < 2 ? n : min(max(Int((f * Double(n)).rounded()), 1), n - 1)
        return (order[..<groupCount].sorted(), order[groupCount...].sorted())
    }

    /// Calibrates on the scores of a calibration set.
    ///
    /// A class without any score gets +∞ (conformal) or NaN (linear) curves; a caller that can
    /// warn should check ``ScoreStore/scoreCount(ofClass:)`` first.
    ///
    /// - Throws: ``CalibrationError`` when the strategy rejects its parameters, or when the
    ///   image selection of a split of a memory-mapped store cannot be written (``ScoreStore/init(mapping:spillDirectory:residentBudget:)``).
    /// - Complexity: the pixelwise curves cost O(N·C·H·W + C·H·W·Q); pooling costs
    ///   O(N·H·W) per grouped class; the split O(N·C·H·W); plus the strategy's own cost.
    ///   Memory: the scores of the larger half of a split besides `scores` (none for a
    ///   memory-mapped store, whose halves are mapped files).
    public func calibrate(_ scores: ScoreStore) throws(CalibrationError) -> CalibratedCurves {
        let levels = Quantiles.equallySpacedLevels(count: levelCount)
        let (groupImages, thresholdImages) = splitImages(count: scores.imageCount)
        let isSplit = groupImages != thresholdImages
        // The grouping half of a split is released before the thresholds half is selected, so
        // at most one half exists beside `scores`; unsplit, the input's cached pixelwise curves
        // serve the linear rule below.
        let (groups, unsplitInput) = try { () throws(CalibrationError) in
            let input = GroupingInput(
                scores: isSplit ? try scores.selectingImages(groupImages) : scores, levels: levels)
            return (try grouping.groups(for: input), isSplit ? nil : input)
        }()
        let thresholdScores = isSplit ? try scores.selectingImages(thresholdImages) : scores
        guard groups.labels.count == scores.classCount,
            groups.labels.allSatisfy({ $0 == nil || $0!.shape == [scores.height, scores.width] })
        else {
            preconditionFailure(
                "strategy \(grouping.name) returned groups for \(groups.labels.count) classes or of the wrong shape; expected \(scores.classCount) classes of [\(scores.height), \(scores.width)]"
            )
        }
        let (classCount, pixels) = (scores.classCount, scores.pixelCount)
        var sampleCounts: [[Int]?] = Array(repeating: nil, count: classCount)
        var imageCounts: [[Int]?] = Array(repeating: nil, count: classCount)
        var curves = Tensor(shape: [levelCount, classCount, scores.height, scores.width], repeating: .nan)
        for c in 0..<classCount {
            var classCurves: Tensor  // [Q, H, W]
            if let labels = groups.labels[c] {
                let groupCount = groups.groupCounts[c]
                let pooled = thresholdScores.pooledCurves(
                    ofClass: c, labels: labels, groupCount: groupCount,
                    levels: levels, rule: rule)
                sampleCounts[c] = pooled.sampleCounts
                imageCounts[c] = pooled.imageCounts
                classCurves = Self.spread(pooled.curves, labels: labels, levelCount: levelCount, groupCount: groupCount)
                if rule == .conformal && fallback == .group {
                    let own = thresholdScores.pixelwiseCurves(ofClass: c, levels: levels, rule: rule)
                    Self.fill(&classCurves, preferring: own)
                }
            } else if rule == .linear, let unsplitInput {
                classCurves = unsplitInput.pixelwiseCurves(ofClass: c)
            } else {
                classCurves = thresholdScores.pixelwiseCurves(ofClass: c, levels: levels, rule: rule)
            }
            if rule == .conformal && fallback == .image {
                let whole = ShapedArray<Int32>(shape: [scores.height, scores.width], repeating: 0)
                let image = thresholdScores.pooledCurves(
                    ofClass: c, labels: whole, groupCount: 1, levels: levels, rule: rule)
                Self.fill(
                    &classCurves, with: Self.spread(image.curves, labels: whole, levelCount: levelCount, groupCount: 1))
            }
            if rule == .conformal && fallback != .none { Self.makeNonDecreasing(&classCurves) }
            curves.withUnsafeMutableBufferPointer { out in
                classCurves.withUnsafeBufferPointer { source in
                    for k in 0..<levelCount {
                        (out.baseAddress! + (k * classCount + c) * pixels)
                            .update(from: source.baseAddress! + k * pixels, count: pixels)
                    }
                }
            }
        }
        #if KANDINSKY_INTERNAL_CHECKS
            curves.withUnsafeBufferPointer { c in
                let plane = classCount * pixels
                for k in 1..<levelCount {
                    for i in 0..<plane where !c[i].isNaN {
                        precondition(
                            c[k * plane + i] >= c[(k - 1) * plane + i], "curve \(i) decreases at level index \(k)")
                    }
                }
            }
        #endif
        let parameters = CalibratedCurves.jsonString(grouping.parameters)
        var recorded = groups
        if isSplit {
            recorded.findings["group_split"] =
                .text("\(groupImages.count) images chose the groups, \(thresholdImages.count) set the thresholds")
        }
        return CalibratedCurves(
            curves: curves, method: grouping.name, parameters: parameters,
            calibrationImageCount: scores.imageCount, precision: scores.precision, rule: rule,
            groups: recorded, groupSampleCounts: sampleCounts, groupImageCounts: imageCounts)
    }

    /// Computes the scores of `probabilities` and targets `targets` ([N, C, H, W]) and calibrates on them.
    public func calibrate<P: QuantileScalar>(
        probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
        precision: ScorePrecision = .float
    ) throws(CalibrationError) -> CalibratedCurves {
        try calibrate(ScoreStore(probabilities: probabilities, targets: targets, precision: precision))
    }

    /// Group curves [Q, G] written into every pixel of their group: [Q, H, W].
    static func spread(_ pooled: Tensor, labels: ShapedArray<Int32>, levelCount: Int, groupCount: Int) -> Tensor {
        let (height, width) = (labels.shape[0], labels.shape[1])
        let pixels = height * width
        return Tensor(shape: [levelCount, height, width]) { out in
            pooled.withUnsafeBufferPointer { pool in
                labels.withUnsafeBufferPointer { l in
                    for k in 0..<levelCount {
                        let row = out.baseAddress! + k * pixels
                        for p in 0..<pixels { row[p] = pool[k * groupCount + Int(l[p])] }
                    }
                }
            }
        }
    }

    /// Replaces the +∞ entries of `curves` by those of `fallback` (same shape).
    static func fill(_ curves: inout Tensor, with fallback: Tensor) {
        curves.withUnsafeMutableBufferPointer { c in
            fallback.withUnsafeBufferPointer { f in
                for i in 0..<c.count where c[i] == .infinity { c[i] = f[i] }
            }
        }
    }

    /// Takes `preferred`'s finite entries, keeping `curves` where `preferred` is +∞.
    static func fill(_ curves: inout Tensor, preferring preferred: Tensor) {
        curves.withUnsafeMutableBufferPointer { c in
            preferred.withUnsafeBufferPointer { p in
                for i in 0..<c.count where p[i] != .infinity { c[i] = p[i] }
            }
        }
    }

    /// The running maximum along the levels of [Q, H, W] curves (a fallback mixes thresholds of
    /// different pools, which need not be ordered; raising a threshold only adds coverage).
    static func makeNonDecreasing(_ curves: inout Tensor) {
        let (levelCount, pixels) = (curves.shape[0], curves.shape[1] * curves.shape[2])
        curves.withUnsafeMutableBufferPointer { c in
            for k in 1..<levelCount {
                for p in 0..<pixels where c[k * pixels + p] < c[(k - 1) * pixels + p] {
                    c[k * pixels + p] = c[(k - 1) * pixels + p]
                }
            }
        }
    }
}

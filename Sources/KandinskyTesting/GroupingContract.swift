import KandinskyCalibration
import KandinskyCore

/// What ``checkGroupingContract(_:scores:rule:levelCount:seed:)`` found: the strategy's groups
/// and every way it broke the structural contract.
public struct GroupingContractReport: Sendable, CustomStringConvertible {
    /// One broken clause of the contract.
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        /// `groups(for:)` threw on data it should accept.
        case threw(CalibrationError)
        /// The strategy returned label maps or group counts for the wrong number of classes.
        case wrongClassCount(labelMaps: Int, groupCounts: Int, expected: Int)
        /// A class's label map is not [H, W].
        case wrongShape(classIndex: Int, shape: [Int], expected: [Int])
        /// A pixelwise class with a group count other than 0, or a grouped class with fewer than 1.
        case inconsistentGroupCount(classIndex: Int, groupCount: Int, grouped: Bool)
        /// `count` pixels of the class carry labels outside 0..<`groupCount`; the first is
        /// `label` at row-major `pixel`.
        case labelOutOfRange(classIndex: Int, pixel: Int, label: Int32, groupCount: Int, count: Int)
        /// Group ids of the class that no pixel carries.
        case emptyGroups(classIndex: Int, groups: [Int])
        /// Two runs on the same scores disagreed; `what` names the first difference.
        case nondeterministic(what: String)
        /// `count` NaN thresholds of the class under the conformal rule; the first at level
        /// index `levelIndex`, row-major `pixel`.
        case nanThreshold(classIndex: Int, levelIndex: Int, pixel: Int, count: Int)
        /// The class's curve at `pixel` is lower at `levelIndex` than at the level before.
        case decreasingCurve(classIndex: Int, levelIndex: Int, pixel: Int)
        /// The class's pools hold `pooled` scores, not the `expected` scores of the images that
        /// set the thresholds.
        case poolsMissThresholdScores(classIndex: Int, pooled: Int, expected: Int)
        /// The strategy says it does not choose groups from the scores, yet the class's groups
        /// changed with the images it was given: the calibrator does not split its images, so
        /// the thresholds lose their guarantee (selection bias).
        case groupsDependOnScores(classIndex: Int)

        public var description: String {
            switch self {
            case .threw(let error):
                "groups(for:) threw: \(error)"
            case .wrongClassCount(let maps, let counts, let expected):
                "\(maps) label maps and \(counts) group counts for \(expected) classes"
            case .wrongShape(let c, let shape, let expected):
                "class \(c): label map of shape \(shape), expected \(expected)"
            case .inconsistentGroupCount(let c, let count, let grouped):
                grouped
                    ? "class \(c): a label map with \(count) groups (needs ≥ 1)"
                    : "class \(c): pixelwise (no label map) but \(count) groups (needs 0)"
            case .labelOutOfRange(let c, let pixel, let label, let count, let n):
                "class \(c): \(n) label(s) outside 0..<\(count), the first \(label) at pixel \(pixel)"
            case .emptyGroups(let c, let groups):
                "class \(c): group(s) \(groups) hold no pixel"
            case .nondeterministic(let what):
                "not deterministic: two runs on the same scores gave different \(what)"
            case .nanThreshold(let c, let k, let pixel, let n):
                "class \(c): \(n) NaN threshold(s) under the conformal rule, the first at level index \(k), pixel \(pixel)"
            case .decreasingCurve(let c, let k, let pixel):
                "class \(c): the curve at pixel \(pixel) decreases at level index \(k)"
            case .poolsMissThresholdScores(let c, let pooled, let expected):
                "class \(c): the pools hold \(pooled) scores, but the threshold-setting images have \(expected)"
            case .groupsDependOnScores(let c):
                "class \(c): selectsGroupsFromScores is false, yet the groups change with the images given, "
                    + "so the calibrator sets thresholds on the images that chose the groups (selection bias)"
            }
        }
    }

    /// The strategy's `NonconformityGrouping.name`.
    public var grouping: String
    /// The rule the curves were calibrated with.
    public var rule: QuantileRule
    /// The shape of the scores checked: N, C, H, W.
    public var imageCount: Int, classCount: Int, height: Int, width: Int
    /// The strategy's `NonconformityGrouping.selectsGroupsFromScores`.
    public var selectsGroupsFromScores: Bool
    /// The images that chose the groups and those that set the thresholds
    /// (`Calibrator.splitImages(count:)`).
    public var groupingImages: [Int], thresholdImages: [Int]
    /// The group count of each class as returned (0: pixelwise); empty when the output had the
    /// wrong number of classes.
    public var groupCounts: [Int]
    /// Every broken clause, in the order checked.
    public var failures: [Failure]

    /// Whether no clause was broken.
    public var passed: Bool { failures.isEmpty }

    /// A header line naming the strategy, the data and the verdict, then one line per failure.
    public var description: String {
        var lines = [
            "grouping contract of \(grouping) (\(rule) rule, \(imageCount) images of \(height) × \(width), "
                + "\(classCount) classes): " + (passed ? "passed" : "FAILED \(failures.count) check(s)")
        ]
        lines.append(
            "  groups per class \(groupCounts); groups from \(groupingImages.count) images, thresholds from "
                + "\(thresholdImages.count) (selectsGroupsFromScores = \(selectsGroupsFromScores))")
        lines += failures.map { "  - \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// Checks the structural contract of a grouping strategy on `scores`: what the calibrator
/// relies on and cannot check cheaply itself.
///
/// The checks, in order (a strategy whose output is malformed is not calibrated, since the
/// calibrator would index out of range):
/// 1. `groups(for:)` on the images `Calibrator.splitImages(count:)` gives it does not throw;
/// 2. it returns a label map or nil and a group count for every one of the C classes;
/// 3. each label map is [H, W]; a pixelwise class (nil) has 0 groups, a grouped class ≥ 1;
/// 4. every label lies in 0..<G and every group id holds at least one pixel;
/// 5. a second call on the same scores returns the same groups (labels, counts, findings), and
///    two calibrations give the same curve bytes: the strategy is deterministic for its
///    parameters (a seed among them is fixed by the caller);
/// 6. the calibrated curves [Q, C, H, W] never decrease along Q (non-NaN entries) and, under
///    `QuantileRule.conformal`, hold no NaN (a pool without enough scores gets +∞);
/// 7. the pools of each grouped class hold exactly the class's scores of the threshold-setting
///    images (their sample counts add up to them);
/// 8. a strategy whose `NonconformityGrouping.selectsGroupsFromScores` is false returns the
///    same groups for each half of the images as for all of them; otherwise the calibrator,
///    which does not split the images of such a strategy, would set thresholds on the images
///    that chose the groups and lose the guarantee.
///
/// No tolerance is involved: every clause is exact. Check 8 can miss a dependence on the
/// scores that both halves happen to share; the statistical contract
/// (``checkCoverageContract(_:simulation:rule:z:maximumStandardError:)``) measures its effect.
///
/// A strategy that builds its groups with `PixelGroups.init(labels:groupCounts:findings:)`
/// traps inside its own `groups(for:)` on labels out of range (that initializer's
/// precondition names the class); this check reports the malformed groups a strategy returns
/// in any other way (for example by assigning `PixelGroups.labels` afterwards).
///
/// - Parameters:
///   - grouping: the strategy, with any seed of its own fixed.
///   - scores: the calibration scores; nil for 12 images of ``ExchangeableScenes`` of 8 × 10
///     drawn with `seed`.
///   - rule: the threshold rule of the calibration checked.
///   - levelCount: Q; nil for the rule's default.
///   - seed: the calibrator's seed (its group split) and the seed of the generated scores.
/// - Complexity: three calls of `groups(for:)` (five when it claims not to look at the
///   scores) and two calibrations, plus O(Q·C·H·W) for the curve checks.
public func checkGroupingContract<G: NonconformityGrouping>(
    _ grouping: G, scores: ScoreStore? = nil,
    rule: QuantileRule = .conformal, levelCount: Int? = nil,
    seed: UInt64 = 0
) -> GroupingContractReport {
    let scores = scores ?? defaultContractScores(seed: seed)
    let calibrator = Calibrator(grouping: grouping, levelCount: levelCount, rule: rule, seed: seed)
    let split = calibrator.splitImages(count: scores.imageCount)
    var report = GroupingContractReport(
        grouping: grouping.name, rule: rule, imageCount: scores.imageCount,
        classCount: scores.classCount, height: scores.height, width: scores.width,
        selectsGroupsFromScores: grouping.selectsGroupsFromScores,
        groupingImages: split.grouping, thresholdImages: split.thresholds,
        groupCounts: [], failures: [])
    let isSplit = split.grouping.count != scores.imageCount
    let groupScores = isSplit ? scores.images(split.grouping) : scores
    let thresholdScores = isSplit ? scores.images(split.thresholds) : scores
    let levels = Quantiles.equallySpacedLevels(count: calibrator.levelCount)
    func groups(of part: ScoreStore) -> Result<PixelGroups, CalibrationError> {
        do throws(CalibrationError) {
            return .success(try grouping.groups(for: GroupingInput(scores: part, levels: levels)))
        } catch {
            return .failure(error)
        }
    }

    // 1–4: the raw output.
    let first: PixelGroups
    switch groups(of: groupScores) {
    case .failure(let error):
        report.failures.append(.threw(error))
        return report
    case .success(let groups):
        first = groups
    }
    report.failures += malformations(
        of: first, classCount: scores.classCount, height: scores.height, width: scores.width)
    if first.labels.count == scores.classCount && first.groupCounts.count == scores.classCount {
        report.groupCounts = first.groupCounts
    }
    guard report.passed else { return report }

    // 5: determinism of the strategy, then of the whole calibration.
    switch groups(of: groupScores) {
    case .success(let second):
        if let difference = firstDifference(first, second) {
            report.failures.append(.nondeterministic(what: difference))
        }
    case .failure(let error):
        report.failures.append(.nondeterministic(what: "outcomes (groups, then the error \(error))"))
    }
    let curves: CalibratedCurves
    let again: CalibratedCurves
    do throws(CalibrationError) {
        curves = try calibrator.calibrate(scores)
        again = try calibrator.calibrate(scores)
    } catch {
        report.failures.append(.threw(error))
        return report
    }
    if report.passed {
        if let difference = firstDifference(curves.groups, again.groups) {
            report.failures.append(.nondeterministic(what: "calibrated \(difference)"))
        } else if curves.curves.withUnsafeBytes({ Array($0) }) != again.curves.withUnsafeBytes({ Array($0) }) {
            report.failures.append(.nondeterministic(what: "curve bytes"))
        }
    }
    // A strategy that changed its groups between calls has been reported; the rest checks the
    // calibrated curves against the groups the calibrator used.
    let used = curves.groups
    guard malformations(of: used, classCount: scores.classCount, height: scores.height, width: scores.width).isEmpty
    else {
        return report
    }

    // 6: curves.
    report.failures += curveFailures(curves.curves, rule: rule)

    // 7: pools.
    for c in 0..<scores.classCount where used.labels[c] != nil {
        let pooled = curves.groupSampleCounts[c]?.reduce(0, +) ?? 0
        let expected = thresholdScores.scoreCount(ofClass: c)
        if pooled != expected || curves.groupSampleCounts[c]?.count != used.groupCounts[c] {
            report.failures.append(.poolsMissThresholdScores(classIndex: c, pooled: pooled, expected: expected))
        }
    }

    // 8: a strategy that claims not to look at the scores.
    if !grouping.selectsGroupsFromScores && scores.imageCount >= 2 {
        let half = scores.imageCount / 2
        var changed = Set<Int>()
        for part in [Array(0..<half), Array(half..<scores.imageCount)] {
            // A strategy may reject fewer images (say, fewer than its clusters): nothing to compare.
            guard case .success(let other) = groups(of: scores.images(part)) else { continue }
            guard other.labels.count == first.labels.count, other.groupCounts.count == first.groupCounts.count else {
                changed.formUnion(0..<scores.classCount)
                continue
            }
            for c in 0..<scores.classCount
            where other.labels[c] != first.labels[c] || other.groupCounts[c] != first.groupCounts[c] {
                changed.insert(c)
            }
        }
        report.failures += changed.sorted().map { .groupsDependOnScores(classIndex: $0) }
    }
    return report
}

/// 12 images of 8 × 10 exchangeable scenes: small enough for a quick check, with pixels that
/// have few or no targets of class 1 (the pools a strategy must not leave NaN).
func defaultContractScores(seed: UInt64) -> ScoreStore {
    var generator = SeededGenerator(seed: seed)
    let data = ExchangeableScenes(height: 8, width: 10).images(count: 12, using: &generator)
    do throws(CalibrationError) {
        return try ScoreStore(probabilities: data.probabilities, targets: data.targets)
    } catch {
        preconditionFailure("the generated scenes are valid scores: \(error)")
    }
}

/// Clauses 2–4 on a strategy's raw output.
func malformations(of groups: PixelGroups, classCount: Int, height: Int, width: Int) -> [GroupingContractReport.Failure]
{
    guard groups.labels.count == classCount, groups.groupCounts.count == classCount else {
        return [
            .wrongClassCount(
                labelMaps: groups.labels.count, groupCounts: groups.groupCounts.count, expected: classCount)
        ]
    }
    var failures: [GroupingContractReport.Failure] = []
    for c in 0..<classCount {
        let count = groups.groupCounts[c]
        guard let map = groups.labels[c] else {
            if count != 0 { failures.append(.inconsistentGroupCount(classIndex: c, groupCount: count, grouped: false)) }
            continue
        }
        guard map.shape == [height, width] else {
            failures.append(.wrongShape(classIndex: c, shape: map.shape, expected: [height, width]))
            continue
        }
        guard count >= 1 else {
            failures.append(.inconsistentGroupCount(classIndex: c, groupCount: count, grouped: true))
            continue
        }
        var used = [Bool](repeating: false, count: count)
        var outside = 0
        var firstOutside: (pixel: Int, label: Int32)?
        map.withUnsafeBufferPointer { l in
            for (p, label) in l.enumerated() {
                if label >= 0 && Int(label) < count {
                    used[Int(label)] = true
                } else {
                    outside += 1
                    if firstOutside == nil { firstOutside = (p, label) }
                }
            }
        }
        if let firstOutside {
            failures.append(
                .labelOutOfRange(
                    classIndex: c, pixel: firstOutside.pixel, label: firstOutside.label,
                    groupCount: count, count: outside))
        }
        let empty = used.indices.filter { !used[$0] }
        if !empty.isEmpty { failures.append(.emptyGroups(classIndex: c, groups: empty)) }
    }
    return failures
}

/// The first difference between two groupings of one image size, or nil.
func firstDifference(_ a: PixelGroups, _ b: PixelGroups) -> String? {
    if a.groupCounts != b.groupCounts { return "group counts (\(a.groupCounts) and \(b.groupCounts))" }
    for c in a.labels.indices where a.labels[c] != b.labels[c] {
        guard let x = a.labels[c], let y = b.labels[c], x.shape == y.shape else { return "label maps of class \(c)" }
        let p = x.scalars.indices.first { x.scalars[$0] != y.scalars[$0] }!
        return "labels of class \(c) (pixel \(p): \(x.scalars[p]) and \(y.scalars[p]))"
    }
    if a.findings != b.findings { return "findings (\(a.findings) and \(b.findings))" }
    return nil
}

/// Clause 6 on curves [Q, C, H, W]: the first decrease of each class and, under the conformal
/// rule, its NaN entries.
func curveFailures(_ curves: Tensor, rule: QuantileRule) -> [GroupingContractReport.Failure] {
    let (levelCount, classCount) = (curves.shape[0], curves.shape[1])
    let pixels = curves.shape[2] * curves.shape[3]
    var failures: [GroupingContractReport.Failure] = []
    curves.withUnsafeBufferPointer { v in
        for c in 0..<classCount {
            var nanCount = 0
            var firstNaN: (k: Int, p: Int)?
            var decrease: (k: Int, p: Int)?
            for k in 0..<levelCount {
                let row = (k * classCount + c) * pixels
                for p in 0..<pixels {
                    let value = v[row + p]
                    if value.isNaN {
                        nanCount += 1
                        if firstNaN == nil { firstNaN = (k, p) }
                    } else if k > 0, decrease == nil, case let previous = v[row - classCount * pixels + p],
                        !previous.isNaN, value < previous
                    {
                        decrease = (k, p)
                    }
                }
            }
            if rule == .conformal, let firstNaN {
                failures.append(
                    .nanThreshold(classIndex: c, levelIndex: firstNaN.k, pixel: firstNaN.p, count: nanCount))
            }
            if let decrease {
                failures.append(.decreasingCurve(classIndex: c, levelIndex: decrease.k, pixel: decrease.p))
            }
        }
    }
    return failures
}

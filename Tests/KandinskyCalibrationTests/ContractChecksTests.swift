import Foundation
import KandinskyCalibration
import KandinskyCore
import Testing

@testable import KandinskyTesting

/// Ways a strategy can return malformed groups without tripping `PixelGroups`' preconditions
/// (its fields are public and assigned after a valid initialization).
struct MalformedGrouping: NonconformityGrouping {
    enum Flaw: String, CaseIterable, Sendable {
        case labelOutOfRange, emptyGroup, oneClassMissing, wrongShape, pixelwiseWithGroups
    }
    var flaw: Flaw
    var name: String { "malformed-\(flaw)" }
    var parameters: [String: String] { ["flaw": flaw.rawValue] }
    var selectsGroupsFromScores: Bool { false }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let (h, w) = (input.scores.height, input.scores.width)
        var groups = PixelGroups.pixelwise(classCount: input.scores.classCount)
        switch flaw {
        case .labelOutOfRange:
            // Labels p mod 3 with 2 groups: pixels 2, 5, …, 77 carry label 2.
            groups.labels[1] = ShapedArray(shape: [h, w]) { out in for p in 0..<(h * w) { out[p] = Int32(p % 3) } }
            groups.groupCounts[1] = 2
        case .emptyGroup:
            groups.labels[1] = ShapedArray(shape: [h, w]) { out in for p in 0..<(h * w) { out[p] = Int32(p % 2) } }
            groups.groupCounts[1] = 3
        case .oneClassMissing:
            groups.labels.removeLast()
            groups.groupCounts.removeLast()
        case .wrongShape:
            groups.labels[0] = ShapedArray(shape: [w, h], repeating: 0)
            groups.groupCounts[0] = 1
        case .pixelwiseWithGroups:
            groups.groupCounts[0] = 4
        }
        return groups
    }
}

/// Different groups on every call: a call counter (shared by copies, as a cache or a clock
/// would be) picks one group on even calls and the two halves on odd ones.
struct NondeterministicGrouping: NonconformityGrouping {
    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func next() -> Int {
            lock.withLock {
                defer { value += 1 }
                return value
            }
        }
    }
    let counter = Counter()
    var name: String { "call-counter" }
    var parameters: [String: String] { [:] }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let (h, w, classes) = (input.scores.height, input.scores.width, input.scores.classCount)
        let halves = counter.next() % 2 == 1
        let map = ShapedArray<Int32>(shape: [h, w]) { out in
            for p in 0..<(h * w) { out[p] = halves && p / w >= h / 2 ? 1 : 0 }
        }
        return PixelGroups(
            labels: Array(repeating: map, count: classes), groupCounts: Array(repeating: halves ? 2 : 1, count: classes)
        )
    }
}

/// Chooses its groups from the scores but claims not to, so the calibrator sets thresholds on
/// the very images that chose them: per class, the tenth of the pixels whose mean calibration
/// score is lowest form group 0 (pixels without a score rank last), the rest group 1. Group 0's
/// scores were selected for being low, so its threshold is too low for new images.
struct SelectionBiasedGrouping: NonconformityGrouping {
    var name: String { "lowest-tenth" }
    var parameters: [String: String] { [:] }
    var selectsGroupsFromScores: Bool { false }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let scores = input.scores
        let pixels = scores.pixelCount
        let maps = (0..<scores.classCount).map { c -> ShapedArray<Int32>? in
            let mean = (0..<pixels).map { p -> Float in
                let s = scores.scores(ofClass: c, pixel: p)
                return s.isEmpty ? .infinity : s.reduce(0, +) / Float(s.count)
            }
            let order = (0..<pixels).sorted { (mean[$0], $0) < (mean[$1], $1) }
            var labels = [Int32](repeating: 1, count: pixels)
            for p in order.prefix(pixels / 10) { labels[p] = 0 }
            return ShapedArray(shape: [scores.height, scores.width], scalars: labels)
        }
        return PixelGroups(labels: maps, groupCounts: Array(repeating: 2, count: scores.classCount))
    }
}

/// The checks themselves: each broken strategy fails the clause it breaks, with the message
/// a user reads, and only that clause.
@Suite struct ContractChecksTests {
    /// Expected failures derived by hand from each flaw on the default 8 × 10 scenes, 2 classes.
    @Test(arguments: MalformedGrouping.Flaw.allCases)
    func malformedGroupsFailTheStructuralContract(flaw: MalformedGrouping.Flaw) {
        let report = checkGroupingContract(MalformedGrouping(flaw: flaw))
        let expected: GroupingContractReport.Failure =
            switch flaw {
            case .labelOutOfRange: .labelOutOfRange(classIndex: 1, pixel: 2, label: 2, groupCount: 2, count: 26)
            case .emptyGroup: .emptyGroups(classIndex: 1, groups: [2])
            case .oneClassMissing: .wrongClassCount(labelMaps: 1, groupCounts: 1, expected: 2)
            case .wrongShape: .wrongShape(classIndex: 0, shape: [10, 8], expected: [8, 10])
            case .pixelwiseWithGroups: .inconsistentGroupCount(classIndex: 0, groupCount: 4, grouped: false)
            }
        #expect(!report.passed)
        #expect(report.failures == [expected], "\(report)")
        #expect(report.description.contains("FAILED 1 check(s)") && report.description.contains(expected.description))
    }

    @Test func theLabelMessageNamesClassRangeAndPixel() {
        let failure = GroupingContractReport.Failure.labelOutOfRange(
            classIndex: 1, pixel: 2, label: 2, groupCount: 2, count: 26)
        #expect(failure.description == "class 1: 26 label(s) outside 0..<2, the first 2 at pixel 2")
    }

    @Test func aCallCounterFailsDeterminism() {
        let report = checkGroupingContract(NondeterministicGrouping())
        #expect(report.failures == [.nondeterministic(what: "group counts ([1, 1] and [2, 2])")], "\(report)")
    }

    @Test func groupsChosenFromTheScoresFailTheClaimOfFixedGroups() {
        let report = checkGroupingContract(SelectionBiasedGrouping())
        #expect(
            report.failures == [.groupsDependOnScores(classIndex: 0), .groupsDependOnScores(classIndex: 1)], "\(report)"
        )
        #expect(report.thresholdImages.count == 12)
    }

    /// The same strategy undercovers on exchangeable scenes: the statistical contract sees the
    /// selection bias the structural claim hides. The honest strategy with the same groups
    /// chosen on a separate part of the images (its claim left true) keeps the contract.
    @Test func groupsChosenFromTheScoresUndercover() {
        let simulation = CoverageSimulation(calibrationSizes: [10, 20], alphas: [0.2], draws: 200, seed: 3)
        let biased = checkCoverageContract(SelectionBiasedGrouping(), simulation: simulation)
        #expect(biased.failures.count == 2, "\(biased)")
        for (failure, n) in zip(biased.failures, [10, 20]) {
            guard case .undercovers(n, 0.2, let coverage, _, let shortfall) = failure else {
                Issue.record("expected an undercoverage at n = \(n):\n\(biased)")
                continue
            }
            // Far outside the tolerance, not a borderline draw.
            #expect(shortfall > 5 * coverage.standardError, "\(biased)")
        }
        #expect(
            biased.description.contains("FAILED 2 check(s)") && biased.description.contains("short by"), "\(biased)")
        print(biased)
        expectCoverageContract(HonestRanking(), simulation: simulation)
    }

    @Test func aThrowingStrategyIsReported() {
        let report = checkGroupingContract(KMeansGrouping(classes: [5]))
        guard case .threw = report.failures.first else {
            Issue.record("expected the strategy's error:\n\(report)")
            return
        }
        #expect(report.failures.count == 1)
    }

    /// Hand-made curves [3, 1, 1, 2]: pixel 0 is 0.1, 0.3, NaN; pixel 1 is 0.5, 0.4, 0.6.
    @Test func curveChecksFindNaNAndDecreases() {
        let curves = Tensor(shape: [3, 1, 1, 2], scalars: [0.1, 0.5, 0.3, 0.4, .nan, 0.6])
        #expect(
            curveFailures(curves, rule: .conformal) == [
                .nanThreshold(classIndex: 0, levelIndex: 2, pixel: 0, count: 1),
                .decreasingCurve(classIndex: 0, levelIndex: 1, pixel: 1),
            ])
        #expect(curveFailures(curves, rule: .linear) == [.decreasingCurve(classIndex: 0, levelIndex: 1, pixel: 1)])
    }

    @Test func theSwiftTestingHelpersRecordTheReport() {
        withKnownIssue {
            expectGroupingContract(MalformedGrouping(flaw: .emptyGroup))
        } matching: { issue in
            issue.comments.contains { $0.rawValue.contains("class 1: group(s) [2] hold no pixel") }
        }
    }
}

/// ``SelectionBiasedGrouping`` without the false claim: the calibrator chooses its groups on
/// half the images and sets the thresholds on the other half.
struct HonestRanking: NonconformityGrouping {
    var name: String { "ranked-by-scores-split" }
    var parameters: [String: String] { [:] }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        try SelectionBiasedGrouping().groups(for: input)
    }
}

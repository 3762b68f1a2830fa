import Foundation
import Testing

@testable import KandinskyExperiments

@Suite struct PairedComparisonTests {
    @Test func constantDifferencesGiveAZeroWidthIntervalAtTheConstant() {
        let interval = PairedComparison.bootstrap([Double](repeating: 0.25, count: 20), seed: 7)
        #expect(interval.lower == 0.25)
        #expect(interval.upper == 0.25)
        // a − b = −0.125 exactly on every draw.
        let c = PairedComparison(
            strategy: "gen-ann", baseline: "pixel", calibrationImages: 10,
            a: [0.5, 0.25, 0.75, 0.375], b: [0.625, 0.375, 0.875, 0.5], seed: 1)
        #expect(c.draws == 4)
        #expect(c.meanDifference == -0.125)
        #expect(c.lower == -0.125 && c.upper == -0.125)
        #expect(c.call == .beats)
        #expect(c.phrase == "gen-ann beats pixel (−0.125 [−0.125, −0.125])")
    }

    /// Two values −1 and 1: a resample mean is −1, 0 or 1 with probabilities ¼, ½, ¼, so of
    /// 9 999 resamples about 2 500 are −1 and 2 500 are 1; the 250th and 9 750th smallest are
    /// −1 and 1 (fewer than 250 of either has probability below 10⁻⁴⁰⁰).
    @Test func symmetricPairGivesTheWholeRangeAndATie() {
        for seed: UInt64 in [0, 1, 42, 12345] {
            let interval = PairedComparison.bootstrap([-1, 1], seed: seed)
            #expect(interval.lower == -1 && interval.upper == 1, "seed \(seed)")
        }
        let c = PairedComparison(
            strategy: "kmeans", baseline: "image", calibrationImages: 20, a: [0, 2], b: [1, 1], seed: 3)
        #expect(c.meanDifference == 0)
        #expect(c.call == .tie)
        #expect(c.phrase == "kmeans ties with image (+0.000 [−1.000, +1.000])")
    }

    /// Symmetric values about 0.5 (0, 0.25, 0.75, 1): the bootstrap distribution of the mean is
    /// symmetric about 0.5, so the two ends lie about equally far from it (within the resampling
    /// noise of 9 999 resamples, well under 0.02 here), and inside [0, 1].
    @Test func symmetricValuesGiveAnIntervalCentredOnTheMean() {
        let interval = PairedComparison.bootstrap([0, 0.25, 0.75, 1], seed: 11)
        #expect(interval.lower >= 0 && interval.upper <= 1)
        #expect(interval.lower < 0.5 && interval.upper > 0.5)
        #expect(abs((0.5 - interval.lower) - (interval.upper - 0.5)) < 0.02)
        // The exact bootstrap distribution puts 4⁻⁴ on each extreme (0 and 1), far below 2.5 %:
        // the ends lie strictly inside.
        #expect(interval.lower > 0 && interval.upper < 1)
    }

    @Test func sameSeedSameInterval() {
        let values = [0.013, -0.002, 0.021, 0.007, 0.0, 0.016, -0.004, 0.011]
        let first = PairedComparison.bootstrap(values, seed: 99)
        let second = PairedComparison.bootstrap(values, seed: 99)
        #expect(first.lower == second.lower && first.upper == second.upper)
        #expect(first.lower <= values.reduce(0, +) / 8 && first.upper >= values.reduce(0, +) / 8)
    }

    @Test func callRule() {
        #expect(PairedComparison.call(lower: -0.02, upper: -0.01) == .beats)
        #expect(PairedComparison.call(lower: 0.01, upper: 0.02) == .loses)
        #expect(PairedComparison.call(lower: -0.01, upper: 0.01) == .tie)
        #expect(PairedComparison.call(lower: -0.01, upper: 0) == .tie)
        #expect(PairedComparison.call(lower: 0, upper: 0.01) == .tie)
        #expect(PairedComparison.call(lower: nil, upper: nil) == .tie)
        let one = PairedComparison(
            strategy: "kmeans", baseline: "pixel", calibrationImages: 1000, a: [0.1], b: [0.5], seed: 0)
        #expect(one.lower == nil && one.call == .tie)
        #expect(one.phrase == "kmeans ties with pixel (−0.400 (1 draw, no interval))")
        let worse = PairedComparison(
            strategy: "kmeans", baseline: "pixel", calibrationImages: 10, a: [0.5, 0.75], b: [0.25, 0.5], seed: 0)
        #expect(worse.call == .loses)
        #expect(worse.phrase == "pixel beats kmeans (kmeans − pixel = +0.250 [+0.250, +0.250])")
    }
}

/// The equivalence margin δ: an interval must lie beyond ±δ, not only beyond 0.
@Suite struct TieMarginTests {
    @Test func callRuleWithAMargin() {
        #expect(PairedComparison.call(lower: -0.03, upper: -0.02, margin: 0.01) == .beats)
        #expect(PairedComparison.call(lower: -0.015, upper: -0.005, margin: 0.01) == .tie)
        #expect(PairedComparison.call(lower: -0.03, upper: -0.01, margin: 0.01) == .tie)
        #expect(PairedComparison.call(lower: 0.005, upper: 0.02, margin: 0.01) == .tie)
        #expect(PairedComparison.call(lower: 0.011, upper: 0.02, margin: 0.01) == .loses)
        #expect(PairedComparison.call(lower: nil, upper: nil, margin: 0) == .tie)
    }

    /// a − b = −0.125 on every draw, so the interval is [−0.125, −0.125]: beyond a margin of
    /// 0.0625, on the edge of 0.125 (a tie: it must lie strictly beyond), inside 0.25.
    @Test func aConstantDifferenceAgainstThreeMargins() {
        let a = [0.5, 0.25, 0.75, 0.375]
        let b = [0.625, 0.375, 0.875, 0.5]
        func compare(_ margin: Double) -> PairedComparison {
            PairedComparison(
                strategy: "gen-ann", baseline: "image", calibrationImages: 10, a: a, b: b, seed: 1, margin: margin)
        }
        #expect(compare(0.0625).call == .beats)
        #expect(compare(0.125).call == .tie)
        #expect(compare(0.25).call == .tie)
        #expect(
            compare(0.25).phrase
                == "gen-ann ties with image (−0.125 [−0.125, −0.125], the interval reaches into the tie margin ±0.250)")
        let reversed = PairedComparison(
            strategy: "gen-ann", baseline: "image", calibrationImages: 10, a: b, b: a, seed: 1, margin: 0.0625)
        #expect(reversed.call == .loses)
    }

    /// The clear win of ``VerdictTests/clearWin()`` has differences of 0.0625 between kmeans and
    /// image at few images and 0.125 elsewhere: with δ = 0.1 gen-ann (0.125 below image) still
    /// beats both baselines, kmeans ties with image; with δ = 0.3 (above every difference, the largest 0.25) every call
    /// is a tie and the
    /// claim is not settled.
    @Test func aMarginTurnsSmallWinsIntoTies() {
        var summary = VerdictTests.summary { size, strategy in
            if size <= 20 {
                return VerdictTests.constant(
                    ["pixel": 0.25, "image": 0.125, "kmeans": 0.0625, "gen-ann": 0][strategy]!)
            }
            return VerdictTests.constant(strategy == "pixel" ? 0 : 0.125)
        }
        summary.tieMargin = 0.1
        #expect(summary.comparison("kmeans", "image", at: 10)?.call == .tie)
        #expect(summary.comparison("gen-ann", "image", at: 10)?.call == .beats)
        #expect(summary.verdict.outcome == .holds)
        summary.tieMargin = 0.3
        #expect(summary.comparisons.allSatisfy { $0.call == .tie })
        #expect(summary.verdict.outcome == .undecided)
    }
}

/// The verdict driven by made-up per-draw CEs at sizes 10, 20 (few images) and 50, 1000.
@Suite struct VerdictTests {
    /// Per-draw base values; each strategy's CE is the base plus a constant offset (or plus
    /// `noise` alternating in sign), so every difference is known by hand.
    static let base: [Double] = [0.25, 0.3125, 0.375, 0.4375, 0.5, 0.5625]
    static let noise: [Double] = [0.0625, -0.0625, 0.0625, -0.0625, 0.0625, -0.0625]

    static func summary(_ offsets: (Int, String) -> [Double]) -> StudySummary {
        var cells: [StudySummary.Cell] = []
        for strategy in ["pixel", "image", "kmeans", "gen-ann"] {
            for size in [10, 20, 50, 1000] {
                let ce = zip(base, offsets(size, strategy)).map { $0 + $1 }
                cells.append(
                    .init(
                        strategy: strategy, calibrationImages: size, meanPixelCE: ce, marginalCE: ce,
                        seconds: ce.map { _ in 1 },
                        drawSeeds: [1, 2, 3, 4, 5, 6]))
            }
        }
        return StudySummary(
            dataset: "synthetic", seed: 5, imageSize: [8, 8], testImages: 10, coverageBins: 20, cells: cells)
    }

    static func constant(_ x: Double) -> [Double] { [Double](repeating: x, count: 6) }

    @Test func clearWin() {
        // Few images: gen-ann 0.125 below image and 0.25 below pixel. Many: pixel 0.125 below all.
        let verdict = Self.summary { size, strategy in
            if size <= 20 {
                return Self.constant(["pixel": 0.25, "image": 0.125, "kmeans": 0.0625, "gen-ann": 0][strategy]!)
            }
            return Self.constant(strategy == "pixel" ? 0 : 0.125)
        }.verdict
        #expect(verdict.smallSizes == [10, 20])
        #expect(verdict.smallSizeOutcomes.map(\.outcome) == [.holds, .holds])
        #expect(verdict.largeSizeOutcome == .holds)
        #expect(verdict.outcome == .holds)
        #expect(verdict.sentences.last == "Verdict: the paper's claim holds on this data.")
        #expect(
            verdict.sentences[0]
                == "At 10 calibration images: kmeans beats pixel (−0.188 [−0.188, −0.188]); kmeans beats image (−0.062 [−0.062, −0.062]); gen-ann beats pixel (−0.250 [−0.250, −0.250]); gen-ann beats image (−0.125 [−0.125, −0.125])."
        )
        #expect(
            verdict.sentences.contains {
                $0.hasPrefix(
                    "With the most calibration images whose draws differ (1000): pixel beats kmeans (kmeans − pixel = +0.125 [+0.125, +0.125])"
                )
            })
    }

    @Test func clearLoss() {
        // Few images: both Kandinsky strategies 0.125 above pixel; many: kmeans 0.0625 below pixel.
        let verdict = Self.summary { size, strategy in
            if size <= 20 {
                return Self.constant(["pixel": 0, "image": 0.25, "kmeans": 0.125, "gen-ann": 0.125][strategy]!)
            }
            return Self.constant(["pixel": 0.0625, "image": 0.25, "kmeans": 0, "gen-ann": 0.125][strategy]!)
        }.verdict
        #expect(verdict.smallSizeOutcomes.map(\.outcome) == [.fails, .fails])
        #expect(verdict.largeSizeOutcome == .fails)
        #expect(verdict.outcome == .fails)
        #expect(verdict.sentences.last == "Verdict: the paper's claim does not hold on this data.")
        #expect(
            verdict.sentences.contains {
                $0.contains("pixel beats gen-ann (gen-ann − pixel = +0.125 [+0.125, +0.125])")
            })
        #expect(
            verdict.sentences.contains {
                $0.contains("kmeans beats pixel (−0.062 [−0.062, −0.062])") && $0.contains("does not hold")
            })
    }

    @Test func tieWhenTheDifferencesSwingBothWays() {
        // Kandinsky minus baseline alternates ±0.0625 at few images: mean 0, interval around 0.
        // At 1000, pixel is 0.125 better than everyone: that half holds, the claim is unsettled.
        let verdict = Self.summary { size, strategy in
            if size <= 20 { return strategy == "pixel" || strategy == "image" ? Self.constant(0) : Self.noise }
            return Self.constant(strategy == "pixel" ? 0 : 0.125)
        }.verdict
        #expect(verdict.smallSizeOutcomes.map(\.outcome) == [.undecided, .undecided])
        #expect(
            verdict.comparisons.filter { $0.calibrationImages <= 20 && $0.strategy != "pixel" }.allSatisfy {
                $0.call == .tie
            })
        #expect(verdict.largeSizeOutcome == .holds)
        #expect(verdict.outcome == .undecided)
        #expect(verdict.sentences.contains { $0.contains("kmeans ties with pixel (+0.000 [") })
        #expect(verdict.sentences.last?.hasPrefix("Verdict: this data does not settle the paper's claim") == true)
    }

    /// At a size equal to the whole calibration split every draw is the same calibration: no
    /// interval, a tie, and the second half is judged at the next size down.
    @Test func identicalDrawsGiveNoIntervalAndTheLargeSizeMovesDown() {
        let repeated = PairedComparison(
            strategy: "kmeans", baseline: "pixel", calibrationImages: 1000,
            a: [0.25, 0.25, 0.25], b: [0.5, 0.5, 0.5], seed: 0)
        #expect(repeated.distinctDraws == 1)
        #expect(repeated.lower == nil && repeated.call == .tie)
        #expect(repeated.phrase == "kmeans ties with pixel (−0.250 (3 identical draws, no interval))")
        var summary = Self.summary { size, strategy in
            if size <= 20 {
                return Self.constant(["pixel": 0.25, "image": 0.125, "kmeans": 0.0625, "gen-ann": 0][strategy]!)
            }
            return Self.constant(strategy == "pixel" ? 0 : 0.125)
        }
        for index in summary.cells.indices where summary.cells[index].calibrationImages == 1000 {
            summary.cells[index].meanPixelCE = Self.constant(summary.cells[index].strategy == "pixel" ? 0.5 : 0.25)
        }
        let verdict = summary.verdict
        #expect(verdict.largestSize == 50)
        #expect(verdict.sizesWithoutInterval == [1000])
        #expect(verdict.largeSizeOutcome == .holds)
        #expect(verdict.outcome == .holds)
        #expect(
            verdict.sentences.contains {
                $0.hasPrefix(
                    "With the most calibration images whose draws differ (50; at 1000 every draw is the same calibration, so no interval is possible): pixel beats kmeans"
                )
            })
    }

    @Test func unpairedCellsAreNotCompared() {
        var summary = Self.summary { _, _ in Self.constant(0) }
        summary.cells[0].drawSeeds = [9, 9, 9, 9, 9, 9]  // pixel at 10 on other draws
        #expect(summary.comparison("kmeans", "pixel", at: 10) == nil)
        #expect(summary.comparison("kmeans", "image", at: 10) != nil)
    }
}

import Testing
import KandinskyCore
@testable import KandinskyCalibration
import KandinskyTesting

/// An example strategy written only against the public protocol: the top and bottom halves of
/// the image are two groups for every class.
struct HalvesGrouping: NonconformityGrouping {
    struct Parameters: Codable, Sendable { var split = "rows" }
    var name: String { "halves" }
    var parameters: Parameters { Parameters() }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let (h, w) = (input.scores.height, input.scores.width)
        let map = ShapedArray<Int32>(shape: [h, w]) { out in
            for p in 0..<(h * w) { out[p] = p / w < h / 2 ? 0 : 1 }
        }
        return PixelGroups(labels: Array(repeating: map, count: input.scores.classCount),
                           groupCounts: Array(repeating: 2, count: input.scores.classCount))
    }
}

/// Builds the calibrator for a strategy chosen at run time (as the command line does).
func calibrate(_ grouping: any NonconformityGrouping, _ scores: ScoreStore, levelCount: Int = 100,
               rule: QuantileRule = .conformal) throws -> CalibratedCurves {
    func open<G: NonconformityGrouping>(_ g: G) throws -> CalibratedCurves {
        try Calibrator(grouping: g, levelCount: levelCount, rule: rule).calibrate(scores)
    }
    return try open(grouping)
}

enum Strategy: String, CaseIterable, CustomTestStringConvertible {
    case pixel, image, kmeans, annulus, halves
    var testDescription: String { rawValue }

    func make(seed: UInt64 = 0) -> any NonconformityGrouping {
        switch self {
        case .pixel: PixelwiseGrouping()
        case .image: ImagewiseGrouping()
        case .kmeans: KMeansGrouping(restarts: 3, seed: seed)
        case .annulus: AnnulusGrouping(bounds: [[-2, 2], [-2, 2], [0, 6], [0, 6], [0, 10]], maxGenerations: 30, seed: seed,
                                       searchSampleSize: 40)
        case .halves: HalvesGrouping()
        }
    }
}

/// The contract every `NonconformityGrouping` must satisfy, run against each built-in strategy
/// and the example strategy above.
@Suite struct GroupingContractTests {
    static func scores(seed: UInt64, images: Int = 30) throws -> ScoreStore {
        var generator = SeededGenerator(seed: seed)
        var data = SyntheticData.make(images: images, height: 8, width: 10, using: &generator)
        // Class 1 never occurs in the top-left pixel: pixelwise curves are NaN there.
        data.targets.withUnsafeMutableBufferPointer { t in
            for n in 0..<images { t[(n * 2 + 1) * 80] = 0; t[(n * 2) * 80] = 1 }
        }
        return try ScoreStore(probabilities: data.probabilities, targets: data.targets)
    }

    /// The structural contract of `KandinskyTesting` (shapes, label ranges, no empty group,
    /// determinism, monotone curves, no NaN under `conformal`, pools = the threshold-setting
    /// images' scores, the `selectsGroupsFromScores` claim), under both rules, on the
    /// checker's own scenes and on scores with a pixel where class 1 never occurs. The group
    /// counts are what each strategy is documented to give on 8 × 10 images.
    @Test(arguments: Strategy.allCases, QuantileRule.allCases)
    func keepsTheStructuralContract(strategy: Strategy, rule: QuantileRule) throws {
        func check<G: NonconformityGrouping>(_ grouping: G, _ scores: ScoreStore?) -> GroupingContractReport {
            expectGroupingContract(grouping, scores: scores, rule: rule, seed: 5)
        }
        for scores in [nil, try Self.scores(seed: 1)] {
            let report = check(strategy.make(seed: 5), scores)
            #expect(report.grouping == strategy.make().name)
            #expect(report.classCount == 2 && report.height == 8 && report.width == 10)
            switch strategy {
            case .pixel: #expect(report.groupCounts == [0, 0])
            case .image: #expect(report.groupCounts == [1, 1])
            case .halves: #expect(report.groupCounts == [2, 2])
            case .kmeans, .annulus: #expect(report.groupCounts.count == 2 && report.groupCounts.allSatisfy { $0 >= 1 })
            }
            // Strategies that do not declare fixed groups (`halves` keeps the default) get half
            // the images under `conformal`.
            let images = scores?.imageCount ?? 12
            let split = rule == .conformal && ![Strategy.pixel, .image].contains(strategy)
            #expect(report.thresholdImages.count == (split ? images / 2 : images), "\(report)")
        }
    }

    @Test(arguments: Strategy.allCases)
    func pixelsWithoutScoresDoNotBreakTheCurvesOfOthersUnderTheLinearRule(strategy: Strategy) throws {
        let scores = try Self.scores(seed: 2)
        let curves = try calibrate(strategy.make(), scores, rule: .linear)
        #expect(scores.scoreCount(ofClass: 1, pixel: 0) == 0)
        for pixel in 0..<80 {
            let value = curves.curves[99, 1, pixel / 10, pixel % 10]
            if let labels = curves.groups.labels[1] {
                // A grouped pixel's curve is NaN exactly when its group pooled no score.
                let group = Int(labels.scalars[pixel])
                #expect(value.isNaN == (curves.groupSampleCounts[1]![group] == 0), "pixel \(pixel)")
            } else {
                #expect(value.isNaN == (scores.scoreCount(ofClass: 1, pixel: pixel) == 0), "pixel \(pixel)")
            }
        }
        #expect(curves.curves.scalars.allSatisfy { $0.isNaN || ($0 >= 0 && $0 <= 1) })
        #expect((1..<80).contains { !curves.curves[99, 1, $0 / 10, $0 % 10].isNaN })
    }

    /// Under the conformal rule a pixelwise threshold is +∞ exactly where ⌈(n + 1)ℓ⌉ > n for the
    /// pixel's n scores (computed here in integers: ℓ = k/99), and nothing is NaN.
    @Test(arguments: Strategy.allCases)
    func conformalThresholdsAreInfiniteExactlyWhereAPoolCannotReachTheLevel(strategy: Strategy) throws {
        let scores = try Self.scores(seed: 2)
        let curves = try calibrate(strategy.make(), scores)
        #expect(curves.curves.scalars.allSatisfy { $0 == .infinity || ($0 >= 0 && $0 <= 1) })
        #expect(!curves.curves.scalars.contains { $0.isNaN })
        guard curves.groups.labels[1] == nil else { return }
        for pixel in 0..<80 {
            let n = scores.scoreCount(ofClass: 1, pixel: pixel)
            for k in [50, 80, 89, 90, 95, 99] {
                let rank = ((n + 1) * k + 98) / 99  // ⌈(n + 1)k/99⌉
                let value = curves.curves[k, 1, pixel / 10, pixel % 10]
                #expect((value == .infinity) == (rank > n), "pixel \(pixel), n \(n), k \(k): \(value)")
                if rank <= n {
                    #expect(value == scores.scores(ofClass: 1, pixel: pixel)[max(rank, 1) - 1], "pixel \(pixel), k \(k)")
                }
            }
        }
    }

    /// Marginal coverage of the prediction sets of the original's linear rule on exchangeable
    /// test data, pooled over seeds (the conformal rule's guarantee is tested by simulation in
    /// `ConformalCoverageTests`).
    ///
    /// Tolerance, the sum of three terms:
    /// - finite sample: the linearly interpolated quantile at level 1 − α of m exchangeable
    ///   scores covers a new one with probability ≈ 1 − α − (1 − 2α)/(m + 1). Pixelwise pools
    ///   here hold m ≥ about 20 scores (150 images × the rarest pixel's rate), so 0.8/21 ≈ 0.04;
    ///   pooled groups hold thousands, so 0.005;
    /// - selection: kmeans and gen-ann choose their groups from the same calibration scores
    ///   (pixels whose curves came out low are grouped together), which biases coverage down by
    ///   an amount that vanishes as N grows; we allow 0.01 for them;
    /// - sampling: three binomial standard errors of the pooled test coverage,
    ///   3·√(α(1 − α)/T) for T test target pixels (T ≈ 19 000, so ≈ 0.0065).
    @Test(arguments: Strategy.allCases)
    func coverageOnExchangeableDataReachesTheNominalLevel(strategy: Strategy) throws {
        let alpha = 0.1
        var covered = 0, total = 0
        for seed in 0..<8 as Range<UInt64> {
            var generator = SeededGenerator(seed: 100 + seed)
            let calibration = SyntheticData.make(images: 150, height: 8, width: 10, using: &generator)
            let test = SyntheticData.make(images: 30, height: 8, width: 10, using: &generator)
            let scores = try ScoreStore(probabilities: calibration.probabilities, targets: calibration.targets)
            let curves = try calibrate(strategy.make(seed: seed), scores, rule: .linear)
            let sets = try curves.predictionSets(probabilities: test.probabilities, alpha: alpha)
            sets.withUnsafeBufferPointer { s in
                test.targets.withUnsafeBufferPointer { t in
                    for i in 0..<t.count where t[i] == 1 {
                        total += 1
                        covered += Int(s[i])
                    }
                }
            }
        }
        let coverage = Double(covered) / Double(total)
        let finiteSample = strategy == .pixel ? 0.04 : 0.005
        let selection = strategy == .kmeans || strategy == .annulus ? 0.01 : 0
        let sampling = 3 * (alpha * (1 - alpha) / Double(total)).squareRoot()
        #expect(coverage >= 1 - alpha - finiteSample - selection - sampling, "coverage \(coverage) over \(total) target pixels")
        #expect(total > 15_000, "\(total) test target pixels")
    }
}

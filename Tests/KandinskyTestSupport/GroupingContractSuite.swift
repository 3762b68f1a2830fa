import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyTesting
import Testing

/// Synthetic segmentation data where calibration and test images are exchangeable.
///
/// Class 1 has a location-dependent base rate (a blob in the centre); the model's probability
/// p₁ is a miscalibrated transform of a per-image, per-pixel latent value, and the target is a
/// Bernoulli draw of the true probability. Class 0 is the complement.
public enum SyntheticData {
    /// `n` images of h × w: probabilities and targets [n, 2, h, w].
    public static func make(
        images n: Int, height h: Int, width w: Int,
        using generator: inout some RandomNumberGenerator
    )
        -> (probabilities: Tensor, targets: ShapedArray<UInt8>)
    {
        var p = [Float](repeating: 0, count: n * 2 * h * w)
        var t = [UInt8](repeating: 0, count: n * 2 * h * w)
        for image in 0..<n {
            for row in 0..<h {
                for col in 0..<w {
                    let dy = Double(row) - Double(h - 1) / 2
                    let dx = Double(col) - Double(w - 1) / 2
                    let centrality = exp(-(dx * dx + dy * dy) / Double(max(h, w)))
                    let latent = centrality * 4 - 2 + generator.nextNormal()
                    let truth = 1 / (1 + exp(-latent))
                    let predicted = Float(1 / (1 + exp(-2.5 * latent)))  // overconfident
                    let positive: UInt8 = generator.nextUnitDouble() < truth ? 1 : 0
                    let pixel = row * w + col
                    p[(image * 2 + 1) * h * w + pixel] = predicted
                    p[(image * 2) * h * w + pixel] = 1 - predicted
                    t[(image * 2 + 1) * h * w + pixel] = positive
                    t[(image * 2) * h * w + pixel] = 1 - positive
                }
            }
        }
        return (Tensor(shape: [n, 2, h, w], scalars: p), ShapedArray(shape: [n, 2, h, w], scalars: t))
    }

    /// `images` images of 8 × 10 in which class 1 never occurs in the top-left pixel (class 0
    /// always does there): pixelwise pools of class 1 are empty at that pixel.
    public static func scoresWithAnEmptyPixel(seed: UInt64, images: Int = 30) throws -> ScoreStore {
        var generator = SeededGenerator(seed: seed)
        var data = make(images: images, height: 8, width: 10, using: &generator)
        data.targets.withUnsafeMutableBufferPointer { t in
            for n in 0..<images {
                t[(n * 2 + 1) * 80] = 0
                t[(n * 2) * 80] = 1
            }
        }
        return try ScoreStore(probabilities: data.probabilities, targets: data.targets)
    }
}

/// The grouping contract as the package's tests run it, unchanged, on every strategy: the
/// built-in ones and the examples'. `make(seed)` builds the strategy with its own seed (if it
/// has one) fixed to `seed`.
///
/// The clauses, each reported at the caller's line:
/// 1. the structural contract of KandinskyTesting (``checkGroupingContract(_:scores:rule:levelCount:seed:)``:
///    shapes, label ranges, no empty group, determinism, monotone curves, no NaN under
///    `conformal`, pools that hold the threshold-setting images' scores, the
///    `selectsGroupsFromScores` claim), under both rules, on the checker's own 8 × 10 scenes and
///    on ``SyntheticData/scoresWithAnEmptyPixel(seed:images:)``; the thresholds are set on half
///    the images exactly when the rule is `conformal` and the strategy says it chooses its
///    groups from the scores;
/// 2. under the original's linear rule, a curve is NaN exactly where its pool is empty (the
///    group's sample count, or the pixel's score count when the class is pixelwise), every
///    other value lies in [0, 1], and the empty pixel leaves the curves of the others finite;
/// 3. under the conformal rule nothing is NaN, every value is +∞ or in [0, 1], and where a
///    class is pixelwise a threshold is +∞ exactly where ⌈(n + 1)ℓ⌉ > n for the pixel's n
///    scores (ℓ = k/99, in integers), otherwise the ⌈(n + 1)ℓ⌉-th smallest score;
/// 4. marginal coverage of the linear rule's prediction sets at α = 0.1 on exchangeable test
///    data, pooled over 8 seeds, reaches 1 − α less three terms: finite sample (the linearly
///    interpolated quantile of m scores covers with probability ≈ 1 − α − (1 − 2α)/(m + 1);
///    pixelwise pools here hold m ≳ 20, so 0.04, pooled groups thousands, so 0.005),
///    `selectionAllowance` for a strategy that chooses its groups from the same calibration
///    scores (a bias that vanishes as N grows), and three binomial standard errors
///    3·√(α(1 − α)/T) of the T ≈ 19 000 test target pixels.
///
/// - Returns: the structural reports: linear then conformal, each on the checker's scenes then
///   on the scores with an empty pixel, for the caller's strategy-specific expectations.
@discardableResult
public func expectGroupingKeepsTheContract<G: NonconformityGrouping>(
    selectionAllowance: Double = 0, sourceLocation: SourceLocation = #_sourceLocation, _ make: (UInt64) -> G
) throws -> [GroupingContractReport] {
    // 1: structure.
    let emptyPixel = try SyntheticData.scoresWithAnEmptyPixel(seed: 1)
    var reports: [GroupingContractReport] = []
    for rule in QuantileRule.allCases {
        for scores in [nil, emptyPixel] {
            let report = expectGroupingContract(
                make(5), scores: scores, rule: rule, seed: 5,
                sourceLocation: sourceLocation)
            let images = scores?.imageCount ?? 12
            let split = rule == .conformal && make(5).selectsGroupsFromScores
            #expect(report.classCount == 2 && report.height == 8 && report.width == 10, sourceLocation: sourceLocation)
            #expect(
                report.thresholdImages.count == (split ? images / 2 : images), "\(report)",
                sourceLocation: sourceLocation)
            reports.append(report)
        }
    }
    let scores = try SyntheticData.scoresWithAnEmptyPixel(seed: 2)
    #expect(scores.scoreCount(ofClass: 1, pixel: 0) == 0, sourceLocation: sourceLocation)

    // 2: empty pools under the linear rule.
    let linear = try Calibrator(grouping: make(0), levelCount: 100, rule: .linear).calibrate(scores)
    for pixel in 0..<80 {
        let value = linear.curves[99, 1, pixel / 10, pixel % 10]
        let poolIsEmpty =
            if let labels = linear.groups.labels[1] {
                linear.groupSampleCounts[1]![Int(labels.scalars[pixel])] == 0
            } else {
                scores.scoreCount(ofClass: 1, pixel: pixel) == 0
            }
        #expect(value.isNaN == poolIsEmpty, "linear rule, pixel \(pixel): \(value)", sourceLocation: sourceLocation)
    }
    #expect(linear.curves.scalars.allSatisfy { $0.isNaN || ($0 >= 0 && $0 <= 1) }, sourceLocation: sourceLocation)
    #expect((1..<80).contains { !linear.curves[99, 1, $0 / 10, $0 % 10].isNaN }, sourceLocation: sourceLocation)

    // 3: unreachable levels under the conformal rule.
    let conformal = try Calibrator(grouping: make(0), levelCount: 100).calibrate(scores)
    #expect(
        conformal.curves.scalars.allSatisfy { $0 == .infinity || ($0 >= 0 && $0 <= 1) },
        sourceLocation: sourceLocation)
    #expect(!conformal.curves.scalars.contains { $0.isNaN }, sourceLocation: sourceLocation)
    if conformal.groups.labels[1] == nil {
        for pixel in 0..<80 {
            let n = scores.scoreCount(ofClass: 1, pixel: pixel)
            for k in [50, 80, 89, 90, 95, 99] {
                let rank = ((n + 1) * k + 98) / 99  // ⌈(n + 1)k/99⌉
                let value = conformal.curves[k, 1, pixel / 10, pixel % 10]
                #expect(
                    (value == .infinity) == (rank > n), "pixel \(pixel), n \(n), k \(k): \(value)",
                    sourceLocation: sourceLocation)
                if rank <= n {
                    #expect(
                        value == scores.scores(ofClass: 1, pixel: pixel)[max(rank, 1) - 1],
                        "pixel \(pixel), k \(k)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    // 4: coverage on exchangeable data.
    let alpha = 0.1
    var covered = 0
    var total = 0
    var pixelwise = false
    for seed in 0..<8 as Range<UInt64> {
        var generator = SeededGenerator(seed: 100 + seed)
        let calibration = SyntheticData.make(images: 150, height: 8, width: 10, using: &generator)
        let test = SyntheticData.make(images: 30, height: 8, width: 10, using: &generator)
        let scores = try ScoreStore(probabilities: calibration.probabilities, targets: calibration.targets)
        let curves = try Calibrator(grouping: make(seed), levelCount: 100, rule: .linear).calibrate(scores)
        pixelwise = curves.groups.labels[1] == nil
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
    let finiteSample = pixelwise ? 0.04 : 0.005
    let sampling = 3 * (alpha * (1 - alpha) / Double(total)).squareRoot()
    #expect(
        coverage >= 1 - alpha - finiteSample - selectionAllowance - sampling,
        "coverage \(coverage) over \(total) target pixels", sourceLocation: sourceLocation)
    #expect(total > 15_000, "\(total) test target pixels", sourceLocation: sourceLocation)
    return reports
}

import Foundation
import Testing
import KandinskyCore
@testable import KandinskyCalibration

/// The conformal rule's guarantee, checked by simulation against its exact theory.
@Suite struct ConformalCoverageTests {
    /// i.i.d. continuous scores, one pixel = one independent draw: with n calibration scores the
    /// split-conformal threshold of rank k = ⌈(n + 1)(1 − α)⌉ covers a new score with probability
    /// exactly k/(n + 1) (+∞ and probability 1 when k > n). D = 4000 pixels per (n, α) are 4000
    /// independent draws of "is the test score covered", so the observed mean must lie within
    /// 3 standard errors √(c(1 − c)/D) of c = k/(n + 1) (a real shortfall of one rank,
    /// 1/(n + 1) ≥ 0.02, is at least 4 standard errors). Scores are uniform on [0, 1]; the
    /// stored Float16 scores are rounded up by at most 2⁻¹¹ relative, which raises coverage by
    /// at most 0.0005, a tenth of the tolerance.
    @Test(arguments: [5, 10, 19, 50])
    func pixelwiseCoverageIsTheExactSplitConformalRank(n: Int) throws {
        let pixels = 4000
        var generator = SeededGenerator(seed: UInt64(1000 + n))
        let calibration = Tensor(shape: [n, 1, 1, pixels]) { out in for i in 0..<out.count { out[i] = generator.nextUnitFloat() } }
        let test = Tensor(shape: [1, 1, 1, pixels]) { out in for i in 0..<out.count { out[i] = generator.nextUnitFloat() } }
        let scores = try ScoreStore(probabilities: calibration, targets: ShapedArray(shape: [n, 1, 1, pixels], repeating: 1))
        // Levels k/1000 hold every α below exactly.
        let curves = try Calibrator(grouping: PixelwiseGrouping(), levelCount: 1001).calibrate(scores)
        for alpha in [0.2, 0.1, 0.05, 0.013] {
            let rank = Int((Double(n + 1) * (1 - alpha) - 1e-9).rounded(.up))
            let thresholds = curves.threshold(atLevel: 1 - alpha)
            #expect(thresholds.scalars.allSatisfy { $0 == .infinity } == (rank > n), "n \(n), α \(alpha)")
            #expect(thresholds.scalars.contains { $0 == .infinity } == (rank > n), "n \(n), α \(alpha)")
            let sets = try curves.predictionSets(probabilities: test, alpha: alpha)
            let coverage = Double(sets.scalars.reduce(0) { $0 + Int($1) }) / Double(pixels)
            let exact = min(Double(rank) / Double(n + 1), 1)
            let tolerance = 3 * (exact * (1 - exact) / Double(pixels)).squareRoot()
            #expect(abs(coverage - exact) <= tolerance + 1e-12, "n \(n), α \(alpha): coverage \(coverage), theory \(exact) ± \(tolerance)")
        }
    }

    /// The weighted rule against a brute-force search over every candidate threshold (each
    /// score and +∞), in exact integer arithmetic: with L the least common multiple of the m_i
    /// and ℓ = k/20, t is admissible when Σ_i (L/m_i)·#{j : s_ij > t}·20 ≤ ((n + 1)(20 − k) − 20)·L.
    @Test(arguments: 0..<40)
    func weightedRuleMatchesABruteForceSearch(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let (n, h, w) = (1 + Int(generator.next() % 9), 3, 4)
        let values: [Float] = [0, 0.125, 0.25, 0.5, 0.75, 1]
        let probabilities = Tensor(shape: [n, 1, h, w]) { out in
            for i in 0..<out.count { out[i] = values[Int(generator.next() % UInt64(values.count))] }
        }
        let targets = ShapedArray<UInt8>(shape: [n, 1, h, w]) { out in
            for i in 0..<out.count { out[i] = generator.next() % 3 == 0 ? 0 : 1 }
        }
        let groupCount = 1 + Int(generator.next() % 3)
        let labels = ShapedArray<Int32>(shape: [h, w]) { out in
            for i in 0..<out.count { out[i] = Int32(generator.next() % UInt64(groupCount)) }
        }
        let scores = try ScoreStore(probabilities: probabilities, targets: targets)
        let levels = (0...20).map { Double($0) / 20 }
        let pooled = scores.pooledCurves(ofClass: 0, labels: labels, groupCount: groupCount, levels: levels, rule: .conformal)
        for g in 0..<groupCount {
            // The pool: per image, the scores of its target pixels in group g.
            let perImage: [[Int]] = (0..<n).map { image in
                (0..<(h * w)).compactMap { pixel -> Int? in
                    guard labels.scalars[pixel] == Int32(g), targets.scalars[image * h * w + pixel] == 1 else { return nil }
                    return Int((1 - probabilities.scalars[image * h * w + pixel]) * 8)  // scores in eighths
                }
            }.filter { !$0.isEmpty }
            let poolImages = perImage.count
            #expect(pooled.imageCounts[g] == poolImages)
            let lcm = perImage.map(\.count).reduce(1) { a, b in a / gcd(a, b) * b }
            let candidates = Set(perImage.joined()).sorted()
            for (k, level) in levels.enumerated() {
                let budget = ((poolImages + 1) * (20 - k) - 20) * lcm
                let admissible = candidates.first { t in
                    perImage.reduce(0) { $0 + lcm / $1.count * $1.filter { $0 > t }.count * 20 } <= budget
                }
                let expected: Float = budget < 0 || poolImages == 0 ? .infinity : Float(admissible!) / 8
                #expect(pooled.curves[k, g] == expected, "seed \(seed), group \(g), level \(level)")
            }
        }
    }

    /// The quantity the rule guarantees, measured on spatially structured exchangeable images:
    /// for each draw (independent calibration and test sets) and each test image, the covered
    /// fraction of the image's target pixels of class c in each pool (a pixel, a group) that
    /// has some; the mean over all (draw, image, class, pool) must reach 1 − α.
    ///
    /// Tolerance: the draws are independent, so their means are i.i.d. and the mean over D = 200
    /// draws has standard error σ̂/√D, σ̂ the observed spread of the draws' means; the test
    /// allows 3 of them (a shortfall must exceed about 0.01 to hide in it: σ̂ is below 0.05
    /// here). Under `linear` the same measurement falls short of 1 − α by more than that for the
    /// pixelwise strategy at every n (pixels without scores never cover), which shows the test
    /// can tell the rules apart.
    @Test(arguments: [Strategy.pixel, .image, .kmeans, .annulus, .halves])
    func perImagePoolCoverageReachesTheLevel(strategy: Strategy) throws {
        let (h, w, testImages, draws, alphas) = (8, 10, 4, 200, [0.1, 0.05])
        for n in [5, 10, 20] {
            // [rule][α]: the draws' means.
            var means = [[[Double]]](repeating: [[Double]](repeating: [], count: alphas.count), count: 2)
            for draw in 0..<draws {
                var generator = SeededGenerator(seed: UInt64(100_000 * n + draw))
                let calibration = ExchangeableScenes.make(images: n, height: h, width: w, using: &generator)
                let test = ExchangeableScenes.make(images: testImages, height: h, width: w, using: &generator)
                let scores = try ScoreStore(probabilities: calibration.probabilities, targets: calibration.targets)
                for (r, rule) in QuantileRule.allCases.enumerated() {
                    let curves = try calibrate(strategy.make(seed: UInt64(draw)), scores, levelCount: 101, rule: rule)
                    for (a, alpha) in alphas.enumerated() {
                        let sets = try curves.predictionSets(probabilities: test.probabilities, alpha: alpha)
                        means[r][a].append(Self.meanPoolCoverage(sets: sets, targets: test.targets, groups: curves.groups))
                    }
                }
            }
            for (a, alpha) in alphas.enumerated() {
                let (mean, se) = Self.meanAndStandardError(means[0][a])
                #expect(mean >= 1 - alpha - 3 * se, "\(strategy) n \(n) α \(alpha): conformal \(mean) ± \(se)")
                if strategy == .pixel {
                    let (linearMean, linearSE) = Self.meanAndStandardError(means[1][a])
                    #expect(linearMean < 1 - alpha - 3 * linearSE, "\(strategy) n \(n) α \(alpha): linear \(linearMean) ± \(linearSE)")
                }
            }
        }
    }

    /// The mean over test images, classes and pools with targets of the covered fraction of
    /// those targets; a pixelwise class's pools are its pixels.
    static func meanPoolCoverage(sets: ShapedArray<UInt8>, targets: ShapedArray<UInt8>, groups: PixelGroups) -> Double {
        let (n, classCount, h, w) = (targets.shape[0], targets.shape[1], targets.shape[2], targets.shape[3])
        var sum = 0.0, count = 0
        for image in 0..<n {
            for c in 0..<classCount {
                let poolCount = groups.labels[c] == nil ? h * w : groups.groupCounts[c]
                var covered = [Int](repeating: 0, count: poolCount), total = [Int](repeating: 0, count: poolCount)
                for pixel in 0..<(h * w) {
                    let index = (image * classCount + c) * h * w + pixel
                    guard targets.scalars[index] == 1 else { continue }
                    let pool = groups.labels[c].map { Int($0.scalars[pixel]) } ?? pixel
                    total[pool] += 1
                    covered[pool] += Int(sets.scalars[index])
                }
                for pool in 0..<poolCount where total[pool] > 0 {
                    sum += Double(covered[pool]) / Double(total[pool])
                    count += 1
                }
            }
        }
        return sum / Double(count)
    }

    static func meanAndStandardError(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return (mean, (variance / Double(values.count)).squareRoot())
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

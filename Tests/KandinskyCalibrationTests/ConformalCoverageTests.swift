import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration
@testable import KandinskyTesting

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
        let calibration = Tensor(shape: [n, 1, 1, pixels]) { out in
            for i in 0..<out.count { out[i] = generator.nextUnitFloat() }
        }
        let test = Tensor(shape: [1, 1, 1, pixels]) { out in
            for i in 0..<out.count { out[i] = generator.nextUnitFloat() }
        }
        let scores = try ScoreStore(
            probabilities: calibration, targets: ShapedArray(shape: [n, 1, 1, pixels], repeating: 1))
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
            #expect(
                abs(coverage - exact) <= tolerance + 1e-12,
                "n \(n), α \(alpha): coverage \(coverage), theory \(exact) ± \(tolerance)")
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
        let pooled = scores.pooledCurves(
            ofClass: 0, labels: labels, groupCount: groupCount, levels: levels, rule: .conformal)
        for g in 0..<groupCount {
            // The pool: per image, the scores of its target pixels in group g.
            let perImage: [[Int]] = (0..<n).map { image in
                (0..<(h * w)).compactMap { pixel -> Int? in
                    guard labels.scalars[pixel] == Int32(g), targets.scalars[image * h * w + pixel] == 1 else {
                        return nil
                    }
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

    /// The simulation's measurements on a hand-made case: 2 images, 2 classes, 1 × 3 pixels,
    /// class 1 grouped as [0, 0, 1], class 0 pixelwise.
    @Test func simulationMeasuresByHand() {
        // Image 0: class 1 at pixels 0, 1, 2 (sets hold it at 0 and 2); class 0 nowhere.
        // Image 1: class 1 at pixel 1 (not in its set), class 0 at pixels 0 and 2 (pixel 0 in).
        let targets = ShapedArray<UInt8>(shape: [2, 2, 1, 3], scalars: [0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0])
        let sets = ShapedArray<UInt8>(shape: [2, 2, 1, 3], scalars: [1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0])
        let groups = PixelGroups(labels: [nil, ShapedArray(shape: [1, 3], scalars: [0, 0, 1])], groupCounts: [0, 2])
        let m = CoverageSimulation.measure(sets: sets, targets: targets, groups: groups)
        // Per image (class 1): image 0 covers 2 of 3, image 1 covers 0 of 1 → (2/3 + 0)/2.
        #expect(abs(m[0] - 1.0 / 3) < 1e-12)
        // Pixel-mean (class 1): pixel 0: 1/1, pixel 1: 0/2, pixel 2: 1/1 → 2/3.
        #expect(abs(m[1] - 2.0 / 3) < 1e-12)
        // Pooled (class 1): 2 of 4.
        #expect(m[2] == 0.5)
        // Pools: image 0 class 1 group 0 (1 of 2), group 1 (1 of 1); image 1 class 1 group 0
        // (0 of 1); image 1 class 0 pixel 0 (1 of 1), pixel 2 (0 of 1) → (0.5 + 1 + 0 + 1 + 0)/5.
        #expect(abs(m[3] - 0.5) < 1e-12)
        // Set sizes: 6 classes in sets over 6 pixels.
        #expect(m[4] == 1)
    }

    /// The statistical contract of `KandinskyTesting` for every built-in strategy: on
    /// spatially structured exchangeable images, for each draw (independent calibration and
    /// test sets) and each test image, the covered fraction of the image's target pixels of
    /// class c in each pool (a pixel, a group) that has some; the mean over all (draw, image,
    /// class, pool) must reach 1 − α.
    ///
    /// Tolerance (the checker's default, z = 3): the draws are independent, so their means are
    /// i.i.d. and the mean over D = 200 draws has standard error σ̂/√D, σ̂ the observed spread of
    /// the draws' means; the check allows 3 of them and fails a cell whose standard error
    /// exceeds 0.01 (a shortfall must exceed about 0.01 to hide in the tolerance). Under
    /// `linear` the same check fails for the pixelwise strategy at every (n, α) (pixels without
    /// scores never cover), which shows it can tell the rules apart; that second run is made for
    /// the pixelwise strategy only, to keep the suite's time down.
    @Test(arguments: [Strategy.pixel, .image, .kmeans, .annulus, .halves])
    func perImagePoolCoverageReachesTheLevel(strategy: Strategy) throws {
        let simulation = CoverageSimulation(
            scenes: ExchangeableScenes(height: 8, width: 10), calibrationSizes: [5, 10, 20],
            alphas: [0.1, 0.05], draws: 200, testImages: 4, levelCount: 101, seed: 7)
        func check<G: NonconformityGrouping>(_ first: G, _ rule: QuantileRule, expect: Bool) -> CoverageContractReport {
            expect
                ? expectCoverageContract(simulation: simulation, rule: rule) { strategy.make(seed: $0) as! G }
                : checkCoverageContract(simulation: simulation, rule: rule) { strategy.make(seed: $0) as! G }
        }
        let conformal = check(strategy.make(), .conformal, expect: true)
        #expect(conformal.cells.map(\.calibrationImages) == [5, 5, 10, 10, 20, 20])
        #expect(conformal.grouping == strategy.make().name)
        if strategy == .pixel {
            let linear = check(strategy.make(), .linear, expect: false)
            let short = linear.failures.compactMap { failure -> Int? in
                if case .undercovers(let n, _, _, _, _) = failure { n } else { nil }
            }
            #expect(short == [5, 5, 10, 10, 20, 20], "\(linear)")
        }
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

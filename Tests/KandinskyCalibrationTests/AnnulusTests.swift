import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

@Suite struct AnnulusTests {
    /// H = 3, W = 4: x = col − 2 ∈ {−2 … 1}, y = 1 − row ∈ {1, 0, −1}; θ = (cx, cy, r1, r2, r3).
    @Test(
        arguments: [
            // Centre (0, 0), radii 1, 1.5, 2. d² row 0: 5 2 1 2 | row 1: 4 1 0 1 | row 2: 5 2 1 2.
            (
                [0, 0, 1, 1.5, 2],
                [
                    3, 1, 0, 1,
                    2, 0, 0, 0,
                    3, 1, 0, 1,
                ]
            ),
            // Moving the centre to (1, 1) (top-right pixel is (1, 1)).
            // d² row 0: 9 4 1 0 | row 1: 10 5 2 1 | row 2: 13 8 5 4.
            (
                [1, 1, 0, 1, 2],
                [
                    3, 2, 1, 0,
                    3, 3, 2, 1,
                    3, 3, 3, 2,
                ]
            ),
        ] as [([Double], [Int32])])
    func labelsFollowTheCentredCoordinates(theta: [Double], expected: [Int32]) {
        #expect(AnnulusGeometry.labels(height: 3, width: 4, theta: theta).scalars == expected)
    }

    /// J by definition: a double loop over all ordered pairs of pixels with features.
    func bruteForce(features: [[Float]], pixels: [Int], height: Int, width: Int, theta: [Double]) -> Double {
        let labels = AnnulusGeometry.labels(height: height, width: width, theta: theta)
        var total = 0.0
        for (i, pi) in pixels.enumerated() {
            for (j, pj) in pixels.enumerated() where labels.scalars[pi] == labels.scalars[pj] {
                var squared = 0.0
                for t in features[i].indices {
                    squared += Double(features[i][t] - features[j][t]) * Double(features[i][t] - features[j][t])
                }
                total += squared.squareRoot()
            }
        }
        return total / Double(height * width)
    }

    @Test(arguments: [4, 3])
    func exactObjectiveMatchesABruteForceDoubleLoop(dimension: Int) {
        var generator = SeededGenerator(seed: 21)
        let (h, w) = (9, 11)
        // Every third pixel has no features (left out of J).
        let pixels = (0..<(h * w)).filter { $0 % 3 != 0 }
        let features = pixels.map { _ in (0..<dimension).map { _ in generator.nextUnitFloat() } }
        let objective = AnnulusObjective(
            features: Tensor(shape: [pixels.count, dimension], scalars: features.flatMap { $0 }),
            pixels: pixels, height: h, width: w)
        for theta in [[0.0, 0, 1.5, 3, 4.5], [1.3, -0.7, 0, 2.2, 2.2], [-2, 2, 10, 20, 30], [0, 0, 0, 0, 0]] {
            let expected = bruteForce(features: features, pixels: pixels, height: h, width: w, theta: theta)
            let value = objective.value(theta: theta)
            #expect(abs(value - expected) <= 1e-5 * expected, "θ \(theta): \(value) vs \(expected)")
            #expect(objective.values(thetas: [theta])[0] == objective.value(theta: theta, parallel: false))
        }
    }

    @Test func largeGroupsTakeTheParallelPathAndAgree() {
        var generator = SeededGenerator(seed: 8)
        let (h, w) = (40, 40)
        let pixels = Array(0..<(h * w))
        let features = Tensor.uniform([h * w, 4], using: &generator)
        let objective = AnnulusObjective(features: features, pixels: pixels, height: h, width: w)
        let theta = [0.0, 0, 30, 40, 50]  // one group of all 1600 pixels
        let serial = objective.value(theta: theta, parallel: false)
        let parallel = objective.value(theta: theta, parallel: true)
        // The same tiling and order of additions either way.
        #expect(serial == parallel)
        // Mean distance between uniform points in [0, 1]⁴ is about 0.78; J ≈ n² · 0.78 / n.
        #expect(serial / Double(h * w) > 0.7 && serial / Double(h * w) < 0.85)
    }

    @Test func incrementalUpdatesAgreeWithFullEvaluations() {
        var generator = SeededGenerator(seed: 14)
        let (h, w) = (24, 30)
        let pixels = (0..<(h * w)).filter { $0 % 7 != 3 }
        let features = Tensor.uniform([pixels.count, 4], using: &generator)
        let objective = AnnulusObjective(features: features, pixels: pixels, height: h, width: w)
        let evaluator = AnnulusObjective.Incremental(objective, theta: [0, 0, 4, 8, 12])
        #expect(abs(evaluator.value - objective.value(theta: [0, 0, 4, 8, 12])) <= 1e-9 * evaluator.value)
        var theta = [0.0, 0, 4, 8, 12]
        for step in 0..<12 {
            // Small moves (incremental path) and, every fourth step, a large one (full path).
            let jump = step % 4 == 3 ? 6.0 : 0.7
            theta = AnnulusGrouping.repair(
                theta.map { $0 + jump * (generator.nextUnitDouble() - 0.5) },
                bounds: [[-5, 5], [-5, 5], [0, 20], [0, 20], [0, 30]])
            let (value, sums) = evaluator.evaluate(theta)
            let expected = objective.value(theta: theta)
            #expect(abs(value - expected) <= 1e-6 * expected, "step \(step): \(value) vs \(expected)")
            if step % 2 == 0 { evaluator.rebase(to: theta, value: value, sums: sums) }
        }
    }

    @Test func subsampledObjectiveIsScaledToTheFullOne() {
        var generator = SeededGenerator(seed: 3)
        let (h, w) = (30, 30)
        let features = Tensor.uniform([h * w, 4], using: &generator)
        let objective = AnnulusObjective(features: features, pixels: Array(0..<(h * w)), height: h, width: w)
        let theta = [0.0, 0, 100, 100, 100]
        let exact = objective.value(theta: theta)
        let estimates = (0..<8).map { _ in objective.subsampled(count: 200, using: &generator).value(theta: theta) }
        let mean = estimates.reduce(0, +) / 8
        #expect(abs(mean - exact) < 0.02 * exact, "\(mean) vs \(exact)")
        #expect(objective.subsampled(count: 10_000, using: &generator).value(theta: theta) == exact)
    }

    @Test func searchSeparatesARingOfDifferentPixels() throws {
        // A 15 × 15 image whose pixels within distance 4 of the centre have curves near 0.1 and
        // the others near 0.7: the best annuli put the boundary between them at r ∈ [4, √17).
        let (h, w) = (15, 15)
        let n = 24
        var p = [Float](repeating: 0, count: n * 2 * h * w)
        let t = [UInt8](repeating: 1, count: n * 2 * h * w)
        var generator = SeededGenerator(seed: 12)
        for image in 0..<n {
            for pixel in 0..<(h * w) {
                let (x, y) = AnnulusGeometry.coordinates(pixel: pixel, height: h, width: w)
                let inside = x * x + y * y <= 16
                p[(image * 2 + 1) * h * w + pixel] = (inside ? 0.9 : 0.3) + 0.05 * generator.nextUnitFloat()
                p[(image * 2) * h * w + pixel] = 0.5
            }
        }
        let grouping = AnnulusGrouping(
            classes: [1], bounds: [[-2, 2], [-2, 2], [0, 10], [0, 10], [0, 12]], maxGenerations: 200,
            tolerance: 1e-6, seed: 1, searchSampleSize: nil)
        let curves = try Calibrator(grouping: grouping, levelCount: 100)
            .calibrate(
                probabilities: Tensor(shape: [n, 2, h, w], scalars: p),
                targets: ShapedArray(shape: [n, 2, h, w], scalars: t))
        let labels = try #require(curves.groups.labels[1])
        // No group mixes inside and outside pixels.
        var groupsInside: [Int32: Set<Bool>] = [:]
        for pixel in 0..<(h * w) {
            let (x, y) = AnnulusGeometry.coordinates(pixel: pixel, height: h, width: w)
            groupsInside[labels.scalars[pixel], default: []].insert(x * x + y * y <= 16)
        }
        #expect(groupsInside.values.allSatisfy { $0.count == 1 }, "\(groupsInside)")
        let theta = try #require(curves.groups.findings["theta"])
        let objective = try #require(curves.groups.findings["objective"]?.numberValue)
        #expect(theta.numberList?.count == 5 && objective > 0)
    }

    @Test func sampledSearchKeepsTheBestOfItsRunsWithItsExactObjective() throws {
        var generator = SeededGenerator(seed: 9)
        let data = SyntheticData.make(images: 16, height: 14, width: 16, using: &generator)
        let scores = try ScoreStore(probabilities: data.probabilities, targets: data.targets)
        let grouping = AnnulusGrouping(
            bounds: [[-2, 2], [-2, 2], [0, 8], [0, 8], [0, 12]], maxGenerations: 40, seed: 4,
            searchSampleSize: 60)
        let objective = try grouping.objective(
            for: GroupingInput(scores: scores, levels: Quantiles.equallySpacedLevels(count: 100)), classIndex: 1)
        let (theta, value, findings) = grouping.search(objective)
        let runs = (0..<AnnulusGrouping.sampledSearchRuns).map { grouping.sampledSearch(objective, run: $0) }
        let bestRun = runs.indices.min { runs[$0].value < runs[$1].value }!
        #expect(Set(runs.map(\.theta)).count > 1, "the runs should not all end at the same θ")
        #expect(theta == runs[bestRun].theta)
        #expect(findings["search_run"] == .integer(bestRun + 1))
        // The stored J is the full evaluation at θ; the runs report their incremental values.
        #expect(value == objective.value(theta: theta))
        #expect(abs(value - runs[bestRun].value) <= 1e-6 * value)
        // The compass refinement stopped at its smallest step: no move of one coordinate by that
        // step improves J.
        #expect(
            try #require(findings["refinement_evaluations"]?.numberValue)
                < Double(AnnulusGrouping.compassEvaluationLimit))
        for j in 0..<5 {
            for direction in [0x1p-10, -0x1p-10] {
                var neighbour = theta
                neighbour[j] += direction
                neighbour = AnnulusGrouping.repair(neighbour, bounds: grouping.parameters.bounds)
                #expect(objective.value(theta: neighbour) >= value * (1 - 1e-6), "θ[\(j)] \(direction)")
            }
        }
    }

    @Test func fixedThetaSkipsTheSearchAndRecordsTheExactObjective() throws {
        var generator = SeededGenerator(seed: 6)
        let data = SyntheticData.make(images: 12, height: 8, width: 8, using: &generator)
        let theta = [0.5, -0.5, 1.5, 3.0, 4.5]
        let grouping = AnnulusGrouping(classes: [1], theta: theta)
        let scores = try ScoreStore(probabilities: data.probabilities, targets: data.targets)
        let curves = try Calibrator(grouping: grouping, levelCount: 100).calibrate(scores)
        #expect(!grouping.selectsGroupsFromScores && curves.groups.findings["group_split"] == nil)
        #expect(curves.groups.labels[1] == AnnulusGeometry.labels(height: 8, width: 8, theta: theta))
        let input = GroupingInput(scores: scores, levels: Quantiles.equallySpacedLevels(count: 100))
        let features = input.curveFeatures(ofClass: 1, atLevelIndices: [60, 70, 80, 90])
        var rows: [[Float]] = []
        var pixels: [Int] = []
        for pixel in 0..<64 where !features[pixel, 0].isNaN {
            pixels.append(pixel)
            rows.append((0..<4).map { features[pixel, $0] })
        }
        let expected = bruteForce(features: rows, pixels: pixels, height: 8, width: 8, theta: theta)
        let recorded = try #require(curves.groups.findings["objective"]?.numberValue)
        #expect(abs(recorded - expected) <= 1e-5 * expected)
    }
}

import KandinskyCalibration
import KandinskyCore
import Testing
@testable import CustomGrouping

/// The contract the built-in strategies pass (see GroupingContractTests in
/// KandinskyCalibrationTests), run against the example's strategy.
@Suite struct BorderBandsContractTests {
    static func scores(seed: UInt64, images: Int = 30, height: Int = 8, width: Int = 10) throws -> ScoreStore {
        var generator = SeededGenerator(seed: seed)
        var data = BorderMiscalibratedMaps.make(images: images, size: max(height, width), using: &generator)
        if height != width {
            // Crop to height × width by keeping the first rows: the maps are square.
            let size = max(height, width)
            data.probabilities = Tensor(shape: [images, 2, height, width], scalars: (0..<(images * 2 * height * width)).map { i in
                let (nc, rest) = i.quotientAndRemainder(dividingBy: height * width)
                return data.probabilities.scalars[nc * size * size + (rest / width) * size + rest % width]
            })
            data.targets = ShapedArray(shape: [images, 2, height, width], scalars: (0..<(images * 2 * height * width)).map { i in
                let (nc, rest) = i.quotientAndRemainder(dividingBy: height * width)
                return data.targets.scalars[nc * size * size + (rest / width) * size + rest % width]
            })
        }
        return try ScoreStore(probabilities: data.probabilities, targets: data.targets)
    }

    @Test func bandsFollowTheDistanceToTheBorder() throws {
        let curves = try BorderBandsGrouping(bandWidth: 1, bandCount: 3).calibrate(Self.scores(seed: 1))
        let labels = try #require(curves.groups.labels[1])
        #expect(curves.groups.groupCounts == [3, 3])
        // Hand-derived in an 8 × 10 image: d = min(h, w, 7 − h, 9 − w), band min(d, 2).
        #expect(labels[0, 0] == 0 && labels[7, 9] == 0 && labels[0, 5] == 0)
        #expect(labels[1, 1] == 1 && labels[6, 4] == 1 && labels[3, 1] == 1)
        #expect(labels[2, 2] == 2 && labels[3, 4] == 2 && labels[4, 7] == 2)
        #expect(curves.method == "border-bands")
        #expect(curves.parameters.contains("\"bandWidth\":1") && curves.parameters.contains("\"bandCount\":3"), "\(curves.parameters)")
    }

    @Test func smallImagesGetFewerBands() throws {
        // 8 × 10 with bands 2 rings wide: d ≤ 3, so only bands 0 and 1 exist.
        let curves = try BorderBandsGrouping(bandWidth: 2, bandCount: 4).calibrate(Self.scores(seed: 1))
        #expect(curves.groups.groupCounts == [2, 2])
        #expect(curves.groupSampleCounts[1]!.allSatisfy { $0 > 0 })
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func curvesHaveTheRightShapeAndNeverDecrease(seed: UInt64) throws {
        let scores = try Self.scores(seed: seed)
        let curves = try BorderBandsGrouping(bandWidth: 1, bandCount: 4).calibrate(scores)
        #expect(curves.curves.shape == [101, 2, 8, 10])
        let plane = 2 * 8 * 10
        curves.curves.withUnsafeBufferPointer { c in
            for i in 0..<plane {
                #expect(!c[i].isNaN)
                for k in 1..<100 {
                    #expect(c[k * plane + i] >= c[(k - 1) * plane + i], "curve \(i) decreases at \(k)")
                }
            }
        }
        for c in 0..<2 {
            let counts = try #require(curves.groupSampleCounts[c])
            #expect(counts.count == curves.groups.groupCounts[c])
            #expect(counts.reduce(0, +) == scores.scoreCount(ofClass: c))
        }
    }

    @Test func sameInputSameBytes() throws {
        let a = try BorderBandsGrouping().calibrate(Self.scores(seed: 4))
        let b = try BorderBandsGrouping().calibrate(Self.scores(seed: 4))
        #expect(a.curves.withUnsafeBytes { Array($0) } == b.curves.withUnsafeBytes { Array($0) })
        #expect(a.groups == b.groups)
    }

    /// Marginal coverage of exchangeable test maps, pooled over seeds. The bands pool hundreds of
    /// scores each, so the finite-sample shortfall (1 − 2α)/(m + 1) is below 0.005; the bands do
    /// not depend on the scores, so there is no selection bias; plus three binomial standard
    /// errors of the pooled coverage.
    @Test func coverageOnExchangeableDataReachesTheNominalLevel() throws {
        let alpha = 0.1
        var covered = 0, total = 0
        for seed in 0..<4 as Range<UInt64> {
            var generator = SeededGenerator(seed: 100 + seed)
            let calibration = BorderMiscalibratedMaps.make(images: 100, size: 12, using: &generator)
            let test = BorderMiscalibratedMaps.make(images: 30, size: 12, using: &generator)
            let curves = try BorderBandsGrouping().calibrate(ScoreStore(probabilities: calibration.probabilities,
                                                                        targets: calibration.targets))
            let sets = try curves.predictionSets(probabilities: test.probabilities, alpha: alpha)
            for i in 0..<sets.count where test.targets.scalars[i] == 1 {
                total += 1
                covered += Int(sets.scalars[i])
            }
        }
        let coverage = Double(covered) / Double(total)
        let sampling = 3 * (alpha * (1 - alpha) / Double(total)).squareRoot()
        #expect(coverage >= 1 - alpha - 0.005 - sampling, "coverage \(coverage) over \(total) target labels")
        #expect(coverage <= 1 - alpha + 0.02 + sampling, "coverage \(coverage) over \(total) target labels")
    }
}

import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// A strategy that records how many images it was shown and groups every class into two
/// halves (top rows, bottom rows).
struct RecordingHalves: NonconformityGrouping {
    struct Parameters: Codable, Sendable {}
    final class Seen: @unchecked Sendable { var images: [Int] = [] }
    let seen = Seen()
    var looksAtScores = true
    var name: String { "recording-halves" }
    var parameters: Parameters { Parameters() }
    var selectsGroupsFromScores: Bool { looksAtScores }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        seen.images.append(input.scores.imageCount)
        let (h, w) = (input.scores.height, input.scores.width)
        let map = ShapedArray<Int32>(shape: [h, w]) { out in for p in 0..<(h * w) { out[p] = p / w < h / 2 ? 0 : 1 } }
        return PixelGroups(
            labels: Array(repeating: map, count: input.scores.classCount),
            groupCounts: Array(repeating: 2, count: input.scores.classCount))
    }
}

@Suite struct CalibratorOptionsTests {
    static func scores(images: Int, seed: UInt64 = 3) throws -> ScoreStore {
        var generator = SeededGenerator(seed: seed)
        let data = SyntheticData.make(images: images, height: 4, width: 5, using: &generator)
        return try ScoreStore(probabilities: data.probabilities, targets: data.targets)
    }

    @Test(arguments: [1, 2, 3, 10, 11])
    func theGroupSplitIsASeededPartition(images n: Int) {
        let calibrator = Calibrator(grouping: RecordingHalves(), groupSplit: .fraction(0.3), seed: 9)
        let (grouping, thresholds) = calibrator.splitImages(count: n)
        // round(0.3·n), at least 1 and at most n − 1 (n ≥ 2).
        let expected = n < 2 ? n : min(max(Int((0.3 * Double(n)).rounded()), 1), n - 1)
        #expect(grouping.count == expected)
        #expect(n < 2 || (Set(grouping).isDisjoint(with: thresholds) && Set(grouping + thresholds) == Set(0..<n)))
        #expect(grouping == grouping.sorted() && thresholds == thresholds.sorted())
        #expect(calibrator.splitImages(count: n) == (grouping, thresholds) as ([Int], [Int]))
        let other = Calibrator(grouping: RecordingHalves(), groupSplit: .fraction(0.3), seed: 10).splitImages(
            count: 200)
        #expect(other.grouping != calibrator.splitImages(count: 200).grouping)
    }

    @Test func aDataDrivenStrategySeesOnlyItsImagesAndTheRestSetTheThresholds() throws {
        let scores = try Self.scores(images: 20)
        let strategy = RecordingHalves()
        let calibrator = Calibrator(grouping: strategy, seed: 4)  // conformal: half the images choose
        let curves = try calibrator.calibrate(scores)
        let (grouping, thresholds) = calibrator.splitImages(count: 20)
        #expect(strategy.seen.images == [10] && grouping.count == 10)
        // Every pool holds exactly the threshold images' scores, and its image count is theirs.
        let rest = scores.images(thresholds)
        for c in 0..<2 {
            #expect(curves.groupSampleCounts[c]!.reduce(0, +) == rest.scoreCount(ofClass: c))
            #expect(curves.groupImageCounts[c]!.allSatisfy { $0 <= 10 })
        }
        #expect(curves.groups.findings["group_split"] == "10 images chose the groups, 10 set the thresholds")
        // A strategy that says it ignores the scores gets every image, as does the linear rule.
        var blind = RecordingHalves()
        blind.looksAtScores = false
        _ = try Calibrator(grouping: blind).calibrate(scores)
        let linear = RecordingHalves()
        _ = try Calibrator(grouping: linear, rule: .linear).calibrate(scores)
        #expect(blind.seen.images == [20] && linear.seen.images == [20])
    }

    @Test func imagesOfAStoreKeepTheirScoresAndOrder() throws {
        // N = 3, C = 1, 1 × 2: pixel 0 targets in images 0 and 2, pixel 1 in image 1.
        let p = Tensor(shape: [3, 1, 1, 2], scalars: [0.75, 0.5, 0.25, 0.125, 0.5, 0.0])
        let t = ShapedArray<UInt8>(shape: [3, 1, 1, 2], scalars: [1, 0, 0, 1, 1, 0])
        let store = try ScoreStore(probabilities: p, targets: t)
        let subset = store.images([2, 1])
        #expect(subset.imageCount == 2)
        #expect(subset.scores(ofClass: 0, pixel: 0) == [0.5])
        #expect(subset.scores(ofClass: 0, pixel: 1) == [0.875])
        #expect(
            store.images([0]).scores(ofClass: 0, pixel: 0) == [0.25]
                && store.images([0]).scoreCount(ofClass: 0, pixel: 1) == 0)
    }

    /// Image fallback: a pixel that cannot reach a level takes the class's image-level threshold
    /// there; a pixel that can keeps its own; curves stay non-decreasing.
    @Test func imageFallbackReplacesOnlyUnreachableLevels() throws {
        let scores = try Self.scores(images: 12)
        let levels = Quantiles.equallySpacedLevels(count: 101)
        let own = try Calibrator(grouping: PixelwiseGrouping()).calibrate(scores)
        let fallback = try Calibrator(grouping: PixelwiseGrouping(), fallback: .image).calibrate(scores)
        let whole = ShapedArray<Int32>(shape: [4, 5], repeating: 0)
        let image = scores.pooledCurves(ofClass: 1, labels: whole, groupCount: 1, levels: levels, rule: .conformal)
            .curves
        var replaced = 0
        for pixel in 0..<20 {
            var previous = -Float.infinity
            for k in 0..<101 {
                let (h, w) = (pixel / 5, pixel % 5)
                let mine = own.curves[k, 1, h, w]
                let taken = fallback.curves[k, 1, h, w]
                if mine == .infinity {
                    #expect(taken == max(image[k, 0], previous), "pixel \(pixel), level \(k)")
                    replaced += 1
                } else {
                    #expect(taken == max(mine, previous), "pixel \(pixel), level \(k)")
                }
                #expect(taken >= previous)
                previous = taken
            }
        }
        #expect(replaced > 0, "the case must exercise the fallback")
    }

    /// Group fallback: in a grouped class each pixel takes its own pixelwise threshold where it
    /// reaches the level and its group's elsewhere.
    @Test func groupFallbackPrefersAPixelsOwnThreshold() throws {
        let scores = try Self.scores(images: 30)
        var blind = RecordingHalves()
        blind.looksAtScores = false
        let grouped = try Calibrator(grouping: blind).calibrate(scores)
        let pixelwise = try Calibrator(grouping: PixelwiseGrouping()).calibrate(scores)
        let mixed = try Calibrator(grouping: blind, fallback: .group).calibrate(scores)
        var own = 0
        var group = 0
        for i in 0..<(101 * 2 * 20) {
            let (k, rest) = (i / 40, i % 40)
            let (c, h, w) = (rest / 20, (rest % 20) / 5, rest % 5)
            let expected =
                pixelwise.curves[k, c, h, w] != .infinity ? pixelwise.curves[k, c, h, w] : grouped.curves[k, c, h, w]
            let previous = k == 0 ? -Float.infinity : mixed.curves[k - 1, c, h, w]
            #expect(mixed.curves[k, c, h, w] == max(expected, previous))
            if pixelwise.curves[k, c, h, w] != .infinity { own += 1 } else { group += 1 }
        }
        #expect(own > 0 && group > 0, "both branches must be exercised: \(own) own, \(group) group")
    }
}

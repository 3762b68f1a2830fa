import KandinskyCalibration
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import CustomGrouping

/// The example's bands against the contract every strategy of the package runs unchanged
/// (`GroupingContractTests` runs it on the built-in ones), and what is specific to bands:
/// labels derived by hand. The example's own XCTest suite, `Examples/CustomGrouping/Tests`,
/// runs KandinskyTesting's contracts on it as a user would.
@Suite struct BorderBandsContractTests {
    /// On 8 × 10 images d ≤ 3, so the default two-ring bands give 2 groups per class.
    @Test func keepsTheContractOfEveryGrouping() throws {
        for report in try expectGroupingKeepsTheContract({ _ in BorderBandsGrouping() }) {
            #expect(report.grouping == "border-bands" && report.groupCounts == [2, 2], "\(report)")
        }
    }

    static func scores(seed: UInt64, images: Int = 30, height: Int = 8, width: Int = 10) throws -> ScoreStore {
        var generator = SeededGenerator(seed: seed)
        var data = BorderMiscalibratedMaps.make(images: images, size: max(height, width), using: &generator)
        if height != width {
            // Crop to height × width by keeping the first rows and columns: the maps are square.
            data.probabilities = data.probabilities.gathering(Array(0..<height), alongAxis: 2)
                .gathering(Array(0..<width), alongAxis: 3)
            data.targets = data.targets.gathering(Array(0..<height), alongAxis: 2).gathering(
                Array(0..<width), alongAxis: 3)
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
        #expect(
            curves.parameters.contains("\"bandWidth\":1") && curves.parameters.contains("\"bandCount\":3"),
            "\(curves.parameters)")
    }

    @Test func smallImagesGetFewerBands() throws {
        // 8 × 10 with bands 2 rings wide: d ≤ 3, so only bands 0 and 1 exist.
        let curves = try BorderBandsGrouping(bandWidth: 2, bandCount: 4).calibrate(Self.scores(seed: 1))
        #expect(curves.groups.groupCounts == [2, 2])
        #expect(curves.groupSampleCounts[1]!.allSatisfy { $0 > 0 })
    }
}

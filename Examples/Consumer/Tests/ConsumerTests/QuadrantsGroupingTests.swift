import KandinskyCalibration
import KandinskyCore
import KandinskyTesting
import XCTest

/// A grouping a dependent package might write: the four quadrants of the image share a curve,
/// for every class. It looks only at the image size.
struct QuadrantsGrouping: NonconformityGrouping {
    var name: String { "quadrants" }
    var parameters: [String: Int] { [:] }
    var selectsGroupsFromScores: Bool { false }

    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let (height, width) = (input.scores.height, input.scores.width)
        let map = ShapedArray<Int32>(shape: [height, width]) { out in
            for h in 0..<height {
                for w in 0..<width { out[h * width + w] = Int32((h < height / 2 ? 0 : 2) + (w < width / 2 ? 0 : 1)) }
            }
        }
        let classCount = input.scores.classCount
        return PixelGroups(
            labels: Array(repeating: map, count: classCount), groupCounts: Array(repeating: 4, count: classCount))
    }
}

/// A dependent package's XCTest suite, run in CI (`swift test --package-path Examples/Consumer`).
final class QuadrantsGroupingTests: XCTestCase {
    func testKeepsTheStructuralContract() {
        let report = assertGroupingContract(QuadrantsGrouping())
        XCTAssertEqual(report.groupCounts, [4, 4])
    }

    func testKeepsTheCoverageContract() {
        let simulation = CoverageSimulation(calibrationSizes: [5, 20], alphas: [0.1], draws: 200, seed: 11)
        let report = assertCoverageContract(QuadrantsGrouping(), simulation: simulation)
        XCTAssertEqual(report.cells.map(\.calibrationImages), [5, 20])
    }

    /// Both checks are plain functions too: their reports say what failed, for any framework.
    func testAStrategyWithLabelsOutOfRangeFailsTheReport() {
        struct Broken: NonconformityGrouping {
            var name: String { "broken" }
            var parameters: [String: Int] { [:] }
            func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
                var groups = try QuadrantsGrouping().groups(for: input)
                groups.groupCounts[1] = 3  // label 3 is now out of range
                return groups
            }
        }
        let report = checkGroupingContract(Broken())
        XCTAssertFalse(report.passed)
        guard case .labelOutOfRange(1, _, 3, 3, let count)? = report.failures.first else {
            return XCTFail("expected labels out of range:\n\(report)")
        }
        // The bottom-right quadrant of the 8 × 10 scenes: 4 rows × 5 columns.
        XCTAssertEqual(count, 20)
    }
}

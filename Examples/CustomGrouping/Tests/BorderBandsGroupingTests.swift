import KandinskyCalibration
import KandinskyCore
import KandinskyTesting
import XCTest

@testable import CustomGrouping

/// `BorderBandsGrouping` against both contracts of KandinskyTesting, in XCTest, as a user's
/// own strategy would be tested. What is specific to bands (hand-derived labels) is tested in
/// `Tests/ExamplesTests/BorderBandsContractTests.swift`.
final class BorderBandsGroupingTests: XCTestCase {
    /// On the checker's own 8 × 10 scenes: d ≤ 3, so one-ring bands give min(3, 3 + 1) = 3
    /// groups per class, and a strategy that ignores the scores sets thresholds on all 12 images.
    func testKeepsTheStructuralContract() {
        let report = assertGroupingContract(BorderBandsGrouping(bandWidth: 1, bandCount: 3))
        XCTAssertEqual(report.groupCounts, [3, 3])
        XCTAssertEqual(report.thresholdImages.count, 12)
        XCTAssertFalse(report.selectsGroupsFromScores)
    }

    /// On the example's own maps (16 × 16: d ≤ 7, so two-ring bands give min(4, 7/2 + 1) = 4),
    /// under both rules.
    func testKeepsTheStructuralContractOnTheExampleMaps() throws {
        var generator = SeededGenerator(seed: 1)
        let maps = BorderMiscalibratedMaps.make(images: 20, size: 16, using: &generator)
        let scores = try ScoreStore(probabilities: maps.probabilities, targets: maps.targets)
        for rule in QuantileRule.allCases {
            let report = assertGroupingContract(BorderBandsGrouping(), scores: scores, rule: rule)
            XCTAssertEqual(report.groupCounts, [4, 4], "\(rule)")
        }
    }

    /// The statistical contract (3 standard errors, the default) on 16 × 16 scenes, where the
    /// two-ring bands make 4 groups, at sizes where the thresholds are finite (with 5 images a
    /// pool reaches level 0.9 only with +∞, as ⌈6 · 0.9⌉ = 6 > 5). The bands do not look at the
    /// scores, so every calibration image sets the thresholds.
    func testKeepsTheCoverageContract() {
        let simulation = CoverageSimulation(
            scenes: ExchangeableScenes(height: 16, width: 16), calibrationSizes: [10, 20, 50],
            alphas: [0.2, 0.1], draws: 200, testImages: 4, seed: 0)
        let report = assertCoverageContract(BorderBandsGrouping(), simulation: simulation)
        XCTAssertEqual(report.cells.map(\.calibrationImages), [10, 10, 20, 20, 50, 50])
        // Not vacuous: at n = 50 the sets are far from holding every class.
        XCTAssertLessThan(report.cells[4].meanSetSize.mean, 1.5, "\(report)")
        print(report)
    }

    /// The XCTest helper fails at the caller's line with the report's text: a band map whose
    /// last band is empty (counts raised past the bands the image has) must be caught.
    func testAFailingCheckFailsAtTheCallersLine() {
        recorded = []
        capturing = true
        let line = #line + 1
        let report = assertGroupingContract(EmptyLastBand())
        capturing = false
        XCTAssertFalse(report.passed)
        XCTAssertEqual(recorded.count, 1)
        XCTAssertEqual(recorded.first?.line, line)
        XCTAssertEqual(recorded.first?.file.hasSuffix("BorderBandsGroupingTests.swift"), true)
        // XCTest prefixes its own words ("failed - ") to the message.
        XCTAssertEqual(recorded.first?.text.hasSuffix(report.description), true)
        XCTAssertTrue(report.description.contains("class 0: group(s) [3] hold no pixel"), report.description)
    }

    private var capturing = false
    private var recorded: [(text: String, file: String, line: Int)] = []

    override func recordFailure(
        withDescription description: String, inFile filePath: String, atLine lineNumber: Int,
        expected: Bool
    ) {
        if capturing {
            recorded.append((description, filePath, lineNumber))
        } else {
            super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
        }
    }
}

/// The example's bands with one group more than there are bands.
private struct EmptyLastBand: NonconformityGrouping {
    var name: String { "border-bands-plus-one" }
    var parameters: BorderBandsGrouping.Parameters { BorderBandsGrouping().parameters }
    var selectsGroupsFromScores: Bool { false }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        var groups = try BorderBandsGrouping(bandWidth: 1, bandCount: 3).groups(for: input)
        groups.groupCounts = groups.groupCounts.map { $0 + 1 }
        return groups
    }
}

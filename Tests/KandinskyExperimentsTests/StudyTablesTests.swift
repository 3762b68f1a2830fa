import Foundation
import Testing

@testable import KandinskyExperiments

/// The report's prediction-set, per-group and rule tables from made-up cells whose every
/// number is worked out by hand. With two draws a and b the resample means are a, (a + b)/2
/// and b, so a 95 % percentile interval is [min, max].
@Suite struct StudyTablesTests {
    static func summary() -> StudySummary {
        var kmeans = StudySummary.Cell(
            strategy: "kmeans", calibrationImages: 10, meanPixelCE: [0.125, 0.25], marginalCE: [0.5, 0.75],
            seconds: [1, 1], drawSeeds: [1, 2],
            sets: [
                .init(
                    alpha: 0.1, perImageCoverage: [0.8, 0.82], meanSetSize: [1.5, 1.25], alwaysInShare: [0.5, 0.25])
            ])
        // Group 1 is absent in draw 2 (nil): the lowest group is 0.85 in draw 1, 0.97 in draw 2.
        kmeans.groupSets = [
            .init(alpha: 0.1, group: 0, perImageCoverage: [0.95, 0.97], meanSetSize: [1, 1], pixelShare: [0.5, 1]),
            .init(
                alpha: 0.1, group: 1, perImageCoverage: [0.85, nil], meanSetSize: [1, nil], pixelShare: [0.5, nil]),
        ]
        let pixel = StudySummary.Cell(
            strategy: "pixel", calibrationImages: 10, meanPixelCE: [0.5, 0.5], marginalCE: [0.25, 0.25],
            seconds: [1, 1], drawSeeds: [1, 2],
            sets: [.init(alpha: 0.1, perImageCoverage: [0.95, 0.99], meanSetSize: [2, 1.5], alwaysInShare: [1, 0.5])])
        var summary = StudySummary(
            dataset: "synthetic", seed: 0, imageSize: [8, 8], testImages: 4, coverageBins: 20, cells: [pixel, kmeans])
        summary.linearCells = [
            StudySummary.Cell(
                strategy: "kmeans", calibrationImages: 10, meanPixelCE: [0.0625, 0.125], marginalCE: [0, 0],
                seconds: [1, 1], drawSeeds: [1, 2],
                sets: [.init(alpha: 0.1, perImageCoverage: [0.7, 0.75], meanSetSize: [1, 1], alwaysInShare: [0, 0])])
        ]
        return summary
    }

    @Test func predictionSetTableHasOneRowPerStrategyAndSize() {
        let lines = ReportWriter.setsTable(Self.summary()).markdown.split(separator: "\n")
        #expect(
            lines[0]
                == "| strategy | size | draws | coverage, α = 0.1 (1 − α = 0.9) | set size, α = 0.1 | always in, α = 0.1 |"
        )
        #expect(lines[2] == "| pixel | 10 | 2 | 0.970 [0.950, 0.990] | 1.75 | 75.0 % |")
        // [0.80, 0.82] lies below 0.9: short.
        #expect(lines[3] == "| kmeans | 10 | 2 | 0.810 [0.800, 0.820] short | 1.38 | 37.5 % |")
    }

    @Test func groupTableShowsEveryGroupAndTheLowest() {
        let lines = ReportWriter.groupTable(Self.summary()).markdown.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "| strategy | size | draws | α | group 0 | group 1 | lowest |")
        // Group 0: shares 0.5 and 1 → 75 %; group 1: one draw, no interval and no flag; lowest:
        // 0.85, 0.97.
        #expect(
            lines[2] == "| kmeans | 10 | 2 | 0.1 | 0.960 [0.950, 0.970] (75 %) | 0.850 (50 %) | 0.910 [0.850, 0.970] |")
    }

    @Test func ruleTablePutsBothRulesSideBySide() {
        let lines = ReportWriter.ruleTable(Self.summary()).markdown.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(
            lines[2]
                == "| kmeans | 10 | 2 | 0.188 [0.125, 0.250] | 0.094 [0.062, 0.125] | 0.1 | 0.810 [0.800, 0.820] short | 0.725 [0.700, 0.750] short | 1.38 | 1.00 |"
        )
    }

    @Test func marginalTableReadsTheMarginalCE() {
        let lines = ReportWriter.marginalTable(Self.summary()).markdown.split(separator: "\n")
        #expect(lines[2] == "| pixel | 0.250 [0.250, 0.250] |")
        #expect(lines[3] == "| kmeans | 0.625 [0.500, 0.750] |")
    }

    @Test func subscriptDigits() {
        #expect(ReportWriter.subscriptDigits(20) == "₂₀")
        #expect(ReportWriter.subscriptDigits(105) == "₁₀₅")
    }
}

import Foundation
import KandinskyPlots
import KandinskyTestSupport
import Testing

@testable import KandinskyExperiments

@Suite struct ReportTests {
    /// A study where Kandinsky wins at 10 and 20 images and pixelwise at 1000.
    static func study(pixelAtLargest: Double) -> StudySummary {
        func cell(_ s: String, _ n: Int, _ ce: [Double]) -> StudySummary.Cell {
            .init(strategy: s, calibrationImages: n, meanPixelCE: ce, marginalCE: ce, seconds: ce.map { _ in 1 })
        }
        return StudySummary(
            dataset: "synthetic", seed: 0, imageSize: [96, 128], testImages: 200, coverageBins: 20,
            cells: [
                cell("pixel", 10, [0.30, 0.32]), cell("image", 10, [0.20, 0.22]), cell("kmeans", 10, [0.10, 0.12]),
                cell("gen-ann", 10, [0.15, 0.17]),
                cell("pixel", 20, [0.20]), cell("image", 20, [0.19]), cell("kmeans", 20, [0.18]),
                cell("gen-ann", 20, [0.08]),
                cell("pixel", 1000, [pixelAtLargest]), cell("image", 1000, [0.18]), cell("kmeans", 1000, [0.05]),
                cell("gen-ann", 1000, [0.06]),
            ])
    }

    @Test func cellStatistics() {
        let cell = StudySummary.Cell(
            strategy: "pixel", calibrationImages: 10, meanPixelCE: [1, 2, 3, 4], marginalCE: [], seconds: [])
        #expect(cell.meanCE == 2.5)
        // sample standard deviation of 1, 2, 3, 4 = sqrt(5/3)
        #expect(abs(cell.spreadCE - (5.0 / 3).squareRoot()) < 1e-12)
    }

    @Test func tableMarksTheBestAndShowsDrawsAndIntervals() {
        let table = ReportWriter.markdownTable(Self.study(pixelAtLargest: 0.01))
        let lines = table.split(separator: "\n")
        #expect(lines[0] == "| strategy | 10 images, 2 draws | 20 images, 1 draw | 1000 images, 1 draw |")
        // Two draws 0.30 and 0.32: the resample means are 0.30, 0.31 or 0.32, so the 95 %
        // percentile interval is [0.30, 0.32].
        #expect(lines[2] == "| pixel | 0.310 [0.300, 0.320] | 0.200 | **0.010** |")
        #expect(lines[4] == "| kmeans | **0.110 [0.100, 0.120]** | 0.180 | 0.050 |")
    }

    @Test func writesSelfContainedReport() throws {
        try withScratchDirectory("report") { directory in
            let summary = Self.study(pixelAtLargest: 0.01)
            let chart = ReportWriter.coverageErrorChart(summary)
            try ReportWriter(directory: directory).write(
                summary: summary,
                figures: [ReportFigure(section: "CE", title: "CE against size", content: .svg(chart.svg))],
                title: "Study")
            let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
            #expect(html.contains("<svg"))
            // One or two draws per cell: every call is a tie, so the claim is not settled.
            let verdict =
                "Verdict: this data does not settle the paper's claim: a call it needs is a tie "
                + "(its 95 % interval reaches 0)."
            #expect(html.contains("<li>\(verdict)</li>"))
            #expect(html.contains("<th>CE(A) − CE(B)</th>"))
            let decoded = try JSONDecoder().decode(
                StudySummary.self, from: Data(contentsOf: directory.appendingPathComponent("summary.json")))
            #expect(decoded == summary)
            let markdown = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
            #expect(markdown.contains("![CE against size](figure-0.svg)"))
            #expect(markdown.contains("\n- \(verdict)\n"))
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("figure-0.svg").path))
        }
    }

    @Test func figuresOfASectionStayTogether() {
        let figures = ["a", "b", "a", "c", "b"].enumerated().map {
            ReportFigure(section: $0.element, title: "\($0.offset)", content: .png("x.png"))
        }
        let grouped = ReportWriter.groupedBySection(figures)
        #expect(grouped.map(\.section) == ["a", "a", "b", "b", "c"])
        #expect(grouped.map(\.title) == ["0", "2", "1", "4", "3"])
    }

    @Test func chartTicksAreRound() {
        let unit = LineChart.ticks(from: 0, to: 1)
        #expect(unit.count == 6)
        #expect(zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(LineChart.ticks(from: 3, to: 48) == [10, 20, 30, 40])
        #expect(LineChart.label(0.25) == "0.25")
        #expect(LineChart.label(20) == "20")
    }
}

@Suite struct MetricsLogTests {
    @Test func csvHasTheGapAndRoundTrips() throws {
        let log = MetricsLog(
            classNames: ["person"],
            epochs: [
                .init(
                    epoch: 1, trainLoss: 0.5, validationLoss: 0.75, validationDice: [0.25], learningRate: 1e-4,
                    seconds: 3.5),
                .init(
                    epoch: 2, trainLoss: 0.25, validationLoss: 0.5, validationDice: [.nan], learningRate: 5e-5,
                    seconds: 3),
            ])
        let lines = log.csv.split(separator: "\n")
        #expect(lines[0] == "epoch,train_loss,val_loss,generalization_gap,val_dice_person,lr,seconds")
        #expect(lines[1] == "1,0.5,0.75,0.25,0.25,0.0001,3.50")
        #expect(lines[2] == "2,0.25,0.5,0.25,nan,5e-05,3.00")
        let back = try MetricsLog(csv: log.csv)
        #expect(back.classNames == ["person"])
        #expect(back.epochs.count == 2)
        #expect(back.epochs[0] == log.epochs[0])
        #expect(back.epochs[1].validationDice[0].isNaN)
    }
}

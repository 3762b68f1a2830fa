import Foundation
import Testing
@testable import KandinskyExperiments

/// The report's colour bars, legends, captions and prediction-set charts.
@Suite struct FigureTests {
    @Test func tickLabelsShareTheStepsDecimals() {
        #expect(LineChart.label(0.1, step: 0.05) == "0.10")
        #expect(LineChart.label(0.4, step: 0.2) == "0.4")
        #expect(LineChart.label(15, step: 5) == "15")
        #expect(LineChart.label(-1e-17, step: 0.05) == "0.00")
    }

    @Test func aLineBreaksAtAMissingPointAndAnEmptyChartSaysSo() {
        let broken = LineChart(title: "t", xLabel: "x", yLabel: "y",
                               series: [.init(name: "s", points: [(1, 1), (2, .nan), (3, 3), (4, 4)])]).svg
        #expect(broken.components(separatedBy: "<polyline").count - 1 == 1)
        #expect(broken.components(separatedBy: "<circle").count - 1 == 3)
        let empty = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "s", points: [])]).svg
        #expect(empty.contains(">no data</text>"))
    }
}

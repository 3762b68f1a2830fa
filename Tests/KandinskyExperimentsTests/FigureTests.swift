import Foundation
import Testing
@testable import KandinskyExperiments

/// The report's colour bars, legends, captions and prediction-set charts.
@Suite struct FigureTests {
    static func near(_ a: Double, _ b: Double, tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance }

    @Test func colourBarTicksOfTheCoverageErrorRange() {
        // 0 to 0.25: a step of 0.05 (the round step at or above a fifth of the range), so six
        // ticks, two decimals each, the top one marked as a floor for clamped values.
        let bar = ColourBar(range: 0...0.25, scale: .viridis, title: ["CE"], clampedAbove: true, length: 200)
        let ticks = bar.ticks
        #expect(ticks.map(\.label) == ["0.00", "0.05", "0.10", "0.15", "0.20", "≥ 0.25"])
        #expect(zip(ticks.map(\.value), [0, 0.05, 0.10, 0.15, 0.20, 0.25]).allSatisfy { Self.near($0, $1) })
        // 200 pixels for 0.25: 40 pixels per 0.05, the high end at the top (y = 10).
        let positions = ticks.map { bar.position(of: $0.value, top: 10) }
        #expect(zip(positions, [210, 170, 130, 90, 50, 10]).allSatisfy { Self.near($0, $1, tolerance: 1e-6) })
    }

    @Test func colourBarTicksOfProbabilities() {
        let bar = ColourBar(range: 0...1, scale: .grey, title: ["probability", "of class 1"], length: 100)
        #expect(bar.ticks.map(\.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let positions = bar.ticks.map { bar.position(of: $0.value, top: 0) }
        #expect(zip(positions, [100, 80, 60, 40, 20, 0]).allSatisfy { Self.near($0, $1, tolerance: 1e-6) })
        let svg = bar.svg(x: 0, y: 0, id: "p")
        // Black to white in two stops; the title and every tick label drawn.
        #expect(svg.contains("stop-color=\"#000000\"") && svg.contains("stop-color=\"#ffffff\""))
        #expect(svg.components(separatedBy: "<stop ").count - 1 == 2)
        for text in ["probability", "of class 1", "0.0", "0.6", "1.0"] { #expect(svg.contains(">\(text)</text>")) }
    }

    @Test func viridisBarHasTheMapsAnchorsAndTheMissingColour() {
        let bar = ColourBar(range: 0...0.25, scale: .viridis, title: ["CE"], missing: (RGB(128, 128, 128), ["no CE"]))
        let svg = bar.svg(x: 0, y: 0, id: "v")
        // Nine stops at the anchors of the map: dark violet (68, 1, 84) at the bottom, yellow (253, 231, 37) at the top.
        #expect(svg.components(separatedBy: "<stop ").count - 1 == 9)
        #expect(svg.contains("<stop offset=\"0.0\" stop-color=\"#440154\"/>"))
        #expect(svg.contains("<stop offset=\"1.0\" stop-color=\"#fde725\"/>"))
        #expect(svg.contains("fill=\"#808080\"") && svg.contains(">no CE</text>"))
    }

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

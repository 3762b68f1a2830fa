import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyPlots
import KandinskyTestSupport
import Testing

@testable import KandinskyExperiments

/// The report's colour bars, legends, captions and prediction-set charts.
@Suite struct FigureTests {
    static func near(_ a: Double, _ b: Double, tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance }

    /// The prediction-set strip, read from contiguous storage, against the pixels the
    /// subscripts name: image i's pixel (y, x) in band i, white rows between the bands.
    @Test func predictionSetStripColoursEveryPixelOfItsImage() throws {
        let (n, c, h, w) = (2, 3, 3, 4)
        let count = n * c * h * w
        let probabilities = HalfTensor(shape: [n, c, h, w], scalars: (0..<count).map { Float16(Float($0 % 7) / 7) })
        let targets = ShapedArray<UInt8>(shape: [n, c, h, w], scalars: (0..<count).map { UInt8($0 % 3 == 0 ? 1 : 0) })
        let sets = ShapedArray<UInt8>(shape: [n, c, h, w], scalars: (0..<count).map { UInt8($0 % 5 < 2 ? 1 : 0) })
        let outputs = NetworkOutputs(probabilities: probabilities, targets: targets)
        let png = FigureCollector.predictionSetStrip(outputs, sets: sets, classIndex: 1)
        let strip = try RGBImage(decoding: png, file: "strip")
        let gap = FigureCollector.bandGap
        #expect(strip.width == w && strip.height == n * h + (n - 1) * gap)
        for i in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    let expected =
                        switch (targets[i, 1, y, x] == 1, sets[i, 1, y, x] == 1) {
                        case (true, true): FigureCollector.setLegend[0].colour
                        case (false, true): FigureCollector.setLegend[1].colour
                        case (true, false): FigureCollector.setLegend[2].colour
                        case (false, false): FigureCollector.setLegend[3].colour
                        }
                    let o = ((i * (h + gap) + y) * w + x) * 3
                    #expect(RGB(strip.pixels[o], strip.pixels[o + 1], strip.pixels[o + 2]) == expected)
                }
            }
        }
        #expect(strip.pixels[(h * w) * 3..<((h + gap) * w) * 3].allSatisfy { $0 == 255 })
        let greyPNG = FigureCollector.strip(outputs, classIndex: 2) { _, p, _ in ColourScale.grey.colour(p) }
        let grey = try RGBImage(decoding: greyPNG, file: "grey")
        let level = UInt8((Double(Float(probabilities[1, 2, 2, 3])) * 255).rounded())
        #expect(Array(grey.pixels.suffix(3)) == [level, level, level])
    }

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
        // Nine stops at the anchors of the map: dark violet (68, 1, 84) at the bottom, yellow (253, 231, 37) at the
        // top.
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

    @Test func thetaIsRoundedToATenthOfAPixel() {
        #expect(
            FigureCollector.thetaCaption(.numbers([12.3456, -4.04, 10, 20.26, 30.06]))
                == "θ = (cx 12.3, cy −4.0, r1 10.0, r2 20.3, r3 30.1)")
        // Several grouped classes: an object by class index, listed in class order.
        #expect(
            FigureCollector.thetaCaption(
                .perClass([
                    2: .numbers([0.04, -0.04, 1, 2, 3]),
                    1: .numbers([12.3456, 0, 5.55, 6.66, 7.77]),
                ]))
                == "class 1: θ = (cx 12.3, cy 0.0, r1 5.5, r2 6.7, r3 7.8); class 2: θ = (cx 0.0, cy 0.0, r1 1.0, r2 2.0, r3 3.0)"
        )
        #expect(
            FigureCollector.thetaValues(.perClass([2: .integers([1, 2, 3, 4, 5])]), classIndex: 2)
                == [1, 2, 3, 4, 5])
        #expect(FigureCollector.thetaCaption("not a list") == nil)
        #expect(DrawLabel(index: 0, count: 20, seed: 42).text == "draw 1 of 20 (seed 42)")
    }

    @Test func groupLegendsNameTheGroups() {
        let annuli = FigureCollector.groupLegend(
            method: "gen-ann", groupCount: 4, parameters: "{}", theta: [1.04, 2, 10.26, 20, 30])
        #expect(
            annuli.entries.map(\.label) == [
                "group 0 (disc, r ≤ 10.3)", "group 1 (ring, r ≤ 20.0)", "group 2 (ring, r ≤ 30.0)", "group 3 (outside)",
            ])
        #expect(annuli.title == ["gen-ann groups", "centre (1.0, 2.0)"])
        let clusters = FigureCollector.groupLegend(
            method: "kmeans", groupCount: 4, parameters: "{\"clusterCount\": 3}", theta: nil)
        #expect(
            clusters.entries.map(\.label) == [
                "group 0 (lowest curves)", "group 1", "group 2 (highest curves)", "group 3 (no score)",
            ])
        // Colours as the mask's heat map draws labels 0…3: viridis at 0, 1/3, 2/3 and 1.
        #expect(clusters.entries.first?.colour == RGB(68, 1, 84) && clusters.entries.last?.colour == RGB(253, 231, 37))
    }

    /// Outputs of 2 test images, 2 classes, 4 × 6 pixels: class 1 is the left half.
    static func outputs() -> NetworkOutputs {
        let (n, c, h, w) = (2, 2, 4, 6)
        var probabilities: [Float16] = []
        var targets: [UInt8] = []
        for image in 0..<n {
            for k in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        let foreground = x < w / 2
                        targets.append(k == 1 ? (foreground ? 1 : 0) : (foreground ? 0 : 1))
                        let p = Float(x + y + image) / Float(w + h + n)
                        probabilities.append(Float16(k == 1 ? 1 - p : p))
                    }
                }
            }
        }
        return NetworkOutputs(
            probabilities: HalfTensor(shape: [n, c, h, w], scalars: probabilities),
            targets: ShapedArray(shape: [n, c, h, w], scalars: targets))
    }

    /// Curves of 3 levels rising from 0.2 to 0.8 at every pixel, grouped as `groups` says.
    static func curves(method: String, parameters: String = "{}", groups: PixelGroups? = nil) -> CalibratedCurves {
        let (q, c, h, w) = (3, 2, 4, 6)
        let values = (0..<q).flatMap { k in [Float](repeating: 0.2 + 0.3 * Float(k), count: c * h * w) }
        return CalibratedCurves(
            curves: Tensor(shape: [q, c, h, w], scalars: values), method: method, parameters: parameters,
            calibrationImageCount: 10, groups: groups)
    }

    @Test func reportCarriesLegendsBarsDrawsAndTheta() throws {
        try withScratchDirectory("figures") { directory in
            let outputs = Self.outputs()
            let rings = ShapedArray<Int32>(shape: [4, 6], scalars: (0..<24).map { Int32($0 % 4) })
            let clusters = ShapedArray<Int32>(shape: [4, 6], scalars: (0..<24).map { Int32($0 % 3) })
            let strategies = [
                Self.curves(method: "pixel"),
                Self.curves(
                    method: "kmeans", parameters: "{\"clusterCount\": 3}",
                    groups: PixelGroups(labels: [nil, clusters], groupCounts: [0, 3])),
                Self.curves(
                    method: "gen-ann",
                    groups: PixelGroups(
                        labels: [nil, rings], groupCounts: [0, 4],
                        findings: ["theta": .numbers([12.3456, -4.04, 10.2, 20.5, 30.1])])),
            ]
            let collector = FigureCollector(directory: directory)
            for curves in strategies {
                let result = try CoverageEvaluation(binCount: 4, classIndex: 1).evaluate(
                    curves, probabilities: outputs.probabilities, targets: outputs.targets)
                try collector.add(
                    curves: curves, result: result, size: 10, draw: DrawLabel(index: 0, count: 20, seed: 42),
                    testOutputs: outputs,
                    alpha: 0.1, exampleImages: 2, classIndex: 1)
            }
            // One row per size for the maps, masks and sets, one diagram per calibration.
            #expect(
                collector.figures.map(\.section) == [
                    "Coverage-error maps", "Coverage diagrams", "Coverage diagrams", "Coverage diagrams",
                    "Kandinsky masks", "Example prediction sets (α = 0.1)",
                ])
            #expect(collector.figures.allSatisfy { $0.title.contains("draw 1 of 20 (seed 42)") })
            let masks = try #require(collector.figures.first { $0.section == "Kandinsky masks" })
            #expect(
                masks.title.contains("gen-ann: 4 groups of class 1; θ = (cx 12.3, cy −4.0, r1 10.2, r2 20.5, r3 30.1).")
            )
            #expect(masks.title.contains("kmeans: 3 groups of class 1."))

            try ReportWriter(directory: directory).write(
                summary: ReportTests.study(pixelAtLargest: 0.01), figures: collector.figures, title: "Study")
            let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
            let legend = [
                "in the set and the true class", "in the set, not the true class", "true class, missed", "neither",
                "target mask", "white: class 1", "probability", "of class 1", "prediction set",
                "pixelwise coverage", "error CE₄", "≥ 0.25", "no CE: the test set",
                "group 0 (disc, r ≤ 10.2)", "group 3 (outside)", "centre (12.3, −4.0)", "group 0 (lowest curves)",
                "pixel", "test image 1", "test image 2",
            ]
            for text in legend { #expect(html.contains(">\(text)</text>"), "\(text)") }
            #expect(html.contains(">mean CE 0.") && html.contains("draw 1 of 20 (seed 42)"))
            // Three CE maps, two masks, the target and probability strips and three sets.
            #expect(html.components(separatedBy: "<image ").count - 1 == 3 + 2 + (2 + 3))
            // report.md links the PNGs in a table and shows the keys from their own SVG files.
            let markdown = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
            #expect(
                markdown.contains(
                    "| ![pixel](ce_map_pixel-n10.png) | ![kmeans](ce_map_kmeans-n10.png) | ![gen-ann](ce_map_gen-ann-n10.png) |"
                ))
            for file in [
                "key_ce_map.svg", "key_sets.svg", "key_probability.svg", "key_mask_gen-ann-n10.svg", "sets_target.png",
                "sets_gen-ann-n10.png",
            ] {
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
            }
            let key = try String(contentsOf: directory.appendingPathComponent("key_sets.svg"), encoding: .utf8)
            #expect(key.contains(">true class, missed</text>"))
        }
    }

    /// pixel and kmeans at 10, 20 and 50 images, audited at α = 0.2 and 0.1; pixel's cell at 20
    /// predates the audit (`sets == nil`), and some values are NaN.
    static func auditedStudy() -> StudySummary {
        func cell(_ s: String, _ n: Int, _ sets: [StudySummary.SetAudit]?) -> StudySummary.Cell {
            .init(
                strategy: s, calibrationImages: n, meanPixelCE: [0.2, 0.21, 0.22], marginalCE: [0.1, 0.1, 0.1],
                seconds: [1, 1, 1], sets: sets)
        }
        func audit(_ alpha: Double, _ coverage: [Double], _ size: [Double]) -> StudySummary.SetAudit {
            .init(alpha: alpha, perImageCoverage: coverage, meanSetSize: size, alwaysInShare: [0, 0, 0])
        }
        return StudySummary(
            dataset: "synthetic", seed: 7, imageSize: [4, 6], testImages: 2, coverageBins: 4,
            cells: [
                cell(
                    "pixel", 10,
                    [audit(0.2, [0.8, 0.82, 0.84], [1.5, 1.5, 1.5]), audit(0.1, [0.9, 0.9, 0.9], [1.8, 1.8, 1.8])]),
                cell("pixel", 20, nil),
                cell(
                    "pixel", 50,
                    [
                        audit(0.2, [0.81, 0.8, 0.79], [1.4, 1.4, 1.4]),
                        audit(0.1, [.nan, .nan, .nan], [1.7, 1.7, 1.7]),
                    ]),
                cell(
                    "kmeans", 10,
                    [
                        audit(0.2, [0.85, 0.85, 0.85], [1.6, 1.6, 1.6]),
                        audit(0.1, [.nan, 0.9, 0.92], [1.9, 1.9, 1.9]),
                    ]),
                cell(
                    "kmeans", 20,
                    [audit(0.2, [0.8, 0.8, 0.8], [1.5, 1.5, 1.5]), audit(0.1, [0.91, 0.91, 0.91], [1.8, 1.8, 1.8])]),
                cell(
                    "kmeans", 50,
                    [audit(0.2, [0.8, 0.8, 0.8], [.nan, .nan, .nan]), audit(0.1, [0.9, 0.9, 0.9], [1.7, 1.7, 1.7])]),
            ])
    }

    @Test func coverageChartsAtTheSmallestAndMiddleSize() throws {
        let summary = Self.auditedStudy()
        #expect(StudyCharts.alphas(summary) == [0.1, 0.2])
        #expect(StudyCharts.coverageSizes(summary) == [10, 20])
        let charts = StudyCharts.coverageAgainstAlpha(summary)
        #expect(charts.count == 2)
        // Per chart: pixel, kmeans and the dashed target.
        #expect(
            charts.map { $0.series.map(\.name) } == [
                ["pixel", "kmeans", "target 1 − α"], ["pixel (no data)", "kmeans", "target 1 − α"],
            ])
        #expect(charts.map { $0.series.map(\.points.count) } == [[2, 2, 2], [0, 2, 2]])
        let kmeans = charts[0].series[1]
        // At α = 0.1 the NaN draw is left out: the mean of 0.90 and 0.92, whose resample means
        // are 0.90, 0.91 or 0.92, so the interval is [0.90, 0.92].
        #expect(kmeans.points[0].x == 0.1 && Self.near(kmeans.points[0].y, 0.91))
        let interval = try #require(kmeans.intervals[0])
        #expect(Self.near(interval.lower, 0.90) && Self.near(interval.upper, 0.92))
        // The target runs over the whole α axis, 0 to 1.15 × 0.2.
        #expect(charts[0].series[2].points.map(\.y).map { ($0 * 1000).rounded() / 1000 } == [1, 0.77])
        #expect(charts[0].xTicks == [0, 0.1, 0.2])
        #expect(charts[0].yDomain == charts[1].yDomain)
        for chart in charts {
            let svg = chart.svg
            #expect(
                svg.components(separatedBy: "<circle").count - 1
                    == chart.series.filter { $0.style == .data }.map(\.points.count).reduce(0, +))
            #expect(svg.contains("stroke-dasharray=\"6,4\""))
            #expect(
                svg.contains(">α (miscoverage level)</text>") && svg.contains(">per-image coverage (fraction)</text>"))
        }
    }

    @Test func setSizeChartsPerAlpha() {
        let charts = StudyCharts.setSizeAgainstSize(Self.auditedStudy())
        #expect(charts.map(\.title) == ["Mean set size at α = 0.1", "Mean set size at α = 0.2"])
        #expect(charts.allSatisfy { $0.logarithmicX })
        // α = 0.2: pixel has no audit at 20, kmeans only NaN set sizes at 50.
        #expect(charts[1].series.map(\.points.count) == [2, 2])
        #expect(charts[1].series[0].points.map(\.x) == [10, 50] && charts[1].series[1].points.map(\.x) == [10, 20])
        // Three equal draws: the mean, and no bar.
        #expect(charts[1].series[0].points[0].y == 1.5 && charts[1].series[0].bar(0) == nil)
        #expect(charts[0].series.map(\.points.count) == [2, 3])
        #expect(StudyCharts.figures(Self.auditedStudy()).count == 4)
    }

    @Test func summariesWithoutAuditsGiveNoCharts() {
        let summary = ReportTests.study(pixelAtLargest: 0.01)
        #expect(StudyCharts.coverageAgainstAlpha(summary).isEmpty)
        #expect(StudyCharts.setSizeAgainstSize(summary).isEmpty)
        #expect(StudyCharts.figures(summary).isEmpty)
        #expect(StudyCharts.meanWithInterval([.nan, .infinity], seed: 1) == nil)
    }

    @Test func aLineBreaksAtAMissingPointAndAnEmptyChartSaysSo() {
        let broken = LineChart(
            title: "t", xLabel: "x", yLabel: "y",
            series: [.init(name: "s", points: [(1, 1), (2, .nan), (3, 3), (4, 4)])]
        ).svg
        #expect(broken.components(separatedBy: "<polyline").count - 1 == 1)
        #expect(broken.components(separatedBy: "<circle").count - 1 == 3)
        let empty = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "s", points: [])]).svg
        #expect(empty.contains(">no data</text>"))
    }
}

import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyPlots

/// The calibration a figure shows: draw `index` (from 0) of the `count` draws at its size, whose
/// calibration images `seededSubset(count:of:seed:)` picks with `seed` (``Pipeline/drawSeed(size:draw:seed:)``).
struct DrawLabel: Sendable, Equatable {
    var index: Int
    var count: Int
    var seed: UInt64

    /// `draw 1 of 20 (seed 1234)`.
    var text: String { "draw \(index + 1) of \(count) (seed \(seed))" }
}

/// Collects the report's per-calibration figures, writing their PNGs (and, for report.md, their
/// keys as SVG) into the report folder.
///
/// The CE maps, the Kandinsky masks and the example prediction sets of one calibration-set size
/// form one row each, every strategy side by side with one colour bar or legend for the row:
/// each ``add(curves:result:size:draw:testOutputs:alpha:exampleImages:classIndex:)`` redraws
/// the rows of its size in place, so ``figures`` is complete after every call. The coverage
/// diagrams stay one figure per calibration.
final class FigureCollector {
    let directory: URL
    var figures: [ReportFigure] = []

    /// The colour range of every CE map: 0 (calibrated) to 0.25, so maps of different strategies
    /// and sizes compare at a glance; CE above it is drawn at the top colour.
    static let coverageErrorRange: ClosedRange<Double> = 0...0.25

    /// One calibration's pictures.
    private struct Shown {
        var method: String
        var draw: DrawLabel
        var meanCE: Double
        var ceMap: PanelRow.Panel
        var mask: Mask?
        var sets: PanelRow.Panel?
    }

    private struct Mask {
        var panel: PanelRow.Panel
        var legend: SwatchLegend
        var classIndex: Int
        var groupCount: Int
        var theta: Finding?
    }

    /// The example images' target and probability strips (the same for every calibration).
    private struct Examples {
        var target: PanelRow.Panel
        var probability: PanelRow.Panel
        var count: Int
    }

    /// What the rows of a size are drawn from, in the order the strategies were added.
    private var shown: [Int: [Shown]] = [:]
    private var examples: Examples?
    /// Where each row's figure is in ``figures``: its section and current caption.
    private var placed: [String: (section: String, title: String)] = [:]
    /// The evaluated class, the CE's bin count and the sets' α (the same for every call).
    private var classIndex = 1, bins = 20, alpha = 0.1

    init(directory: URL) {
        self.directory = directory
    }

    /// Adds the CE map, the coverage diagram, the Kandinsky mask (grouped strategies) and the
    /// prediction sets of the first `exampleImages` test images of one calibration, `draw` of
    /// the draws at `size`.
    func add(
        curves: CalibratedCurves, result: CoverageEvaluation.Result, size: Int, draw: DrawLabel,
        testOutputs: NetworkOutputs,
        alpha: Double, exampleImages: Int, classIndex: Int
    ) throws {
        self.classIndex = classIndex
        self.bins = result.confidences.count
        self.alpha = alpha
        let tag = "\(curves.method)-n\(size)"
        let ce = result.pixelwiseCalibrationError
        let range = Self.coverageErrorRange
        let cePNG = HeatMap(
            range: Float(range.lowerBound)...Float(range.upperBound),
            title: "pixelwise CE, \(curves.method), \(size) images, \(draw.text)", colourBar: false
        ).png(ce)
        try writeFile(cePNG, "ce_map_\(tag).png")
        var entry = Shown(
            method: curves.method, draw: draw, meanCE: result.meanPixelwiseCalibrationError,
            ceMap: PanelRow.Panel(
                header: [curves.method, "mean CE \(format3(result.meanPixelwiseCalibrationError))"],
                file: "ce_map_\(tag).png", png: cePNG, width: ce.shape[1], height: ce.shape[0]))

        // The evaluated class's groups when it is grouped, else the first grouped class's.
        let grouped =
            classIndex < curves.classCount && curves.groups.groupCounts[classIndex] > 1
            ? classIndex : curves.groups.groupCounts.firstIndex { $0 > 1 }
        if let c = grouped, let labels = curves.groups.labels[c] {
            let count = curves.groups.groupCounts[c]
            let png = HeatMap(
                range: 0...Float(count - 1), title: "Kandinsky groups, \(curves.method), class \(c)", colourBar: false
            )
            .png(labels.map { Float($0) })
            try writeFile(png, "mask_\(tag).png")
            let theta = curves.groups.findings["theta"]
            entry.mask = Mask(
                panel: PanelRow.Panel(
                    header: [curves.method, "class \(c), \(count) groups"], file: "mask_\(tag).png",
                    png: png, width: labels.shape[1], height: labels.shape[0]),
                legend: Self.groupLegend(
                    method: curves.method, groupCount: count, parameters: curves.parameters,
                    theta: theta.flatMap { Self.thetaValues($0, classIndex: c) }),
                classIndex: c, groupCount: count, theta: theta)
        }

        let count = min(exampleImages, testOutputs.count)
        if count > 0 {
            let outputs = testOutputs.subset(Array(0..<count))
            let sets = try ExperimentError.wrapping {
                try curves.predictionSets(probabilities: outputs.probabilities, alpha: alpha)
            }
            let (h, w) = (outputs.probabilities.shape[2], outputs.probabilities.shape[3])
            let stripHeight = count * h + (count - 1) * Self.bandGap
            if examples == nil {
                let target = Self.strip(outputs, classIndex: classIndex) { target, _, _ in
                    target ? RGB(255, 255, 255) : RGB(0, 0, 0)
                }
                let probability = Self.strip(outputs, classIndex: classIndex) { _, p, _ in ColourScale.grey.colour(p) }
                try writeFile(target, "sets_target.png")
                try writeFile(probability, "sets_probability.png")
                examples = Examples(
                    target: PanelRow.Panel(
                        header: ["target mask", "white: class \(classIndex)"], file: "sets_target.png",
                        png: target, width: w, height: stripHeight),
                    probability: PanelRow.Panel(
                        header: ["probability", "of class \(classIndex)"], file: "sets_probability.png",
                        png: probability, width: w, height: stripHeight),
                    count: count)
            }
            let png = Self.predictionSetStrip(outputs, sets: sets, classIndex: classIndex)
            try writeFile(png, "sets_\(tag).png")
            entry.sets = PanelRow.Panel(
                header: [curves.method, "set of class \(classIndex)"], file: "sets_\(tag).png",
                png: png, width: w, height: stripHeight)
        }

        var row = shown[size] ?? []
        if let existing = row.firstIndex(where: { $0.method == entry.method }) {
            row[existing] = entry
        } else {
            row.append(entry)
        }
        shown[size] = row
        try place(coverageErrorRow(size: size, row), key: "ce-\(size)")
        insert(
            ReportFigure(
                section: Self.coverageSection,
                title:
                    "\(curves.method), \(size) calibration images, \(draw.text): coverage of class \(classIndex) on the test set, all pixels pooled, against the nominal confidence",
                content: .svg(
                    SVGPlots.coverageDiagram(
                        coverages: result.marginalCoverages,
                        title: "Class \(classIndex), \(curves.method), n = \(size), all pixels"))))
        if row.contains(where: { $0.mask != nil }) { try place(maskRow(size: size, row), key: "mask-\(size)") }
        if row.contains(where: { $0.sets != nil }) { try place(setsRow(size: size, row), key: "sets-\(size)") }
    }

    // MARK: - Rows

    /// The draw shared by a row's calibrations (`draw 1 of 20 (seed …)`), or each one's when
    /// they differ.
    private static func drawText(_ row: [Shown]) -> String {
        let draws = row.map(\.draw)
        if let first = draws.first, draws.allSatisfy({ $0 == first }) { return first.text }
        return row.map { "\($0.method) \($0.draw.text)" }.joined(separator: ", ")
    }

    /// The legend of a CE map's pixels without a value.
    private var missingCE: (colour: RGB, meaning: [String]) {
        (RGB(HeatMap.missingColour), ["no CE: the test set", "has no target pixel", "of class \(classIndex) here"])
    }

    private func coverageErrorRow(size: Int, _ row: [Shown]) -> Row {
        let k = SVGPlots.subscriptDigits(bins)
        let range = Self.coverageErrorRange
        let bar = ColourBar(
            range: range, scale: .viridis, title: ["pixelwise coverage", "error CE\(k)"], clampedAbove: true,
            missing: missingCE)
        let panels = PanelRow(
            items: row.map { .panel($0.ceMap) } + [.keys(.init(file: "key_ce_map.svg", keys: [.bar(bar)]))])
        let means = row.map { "\($0.method) \(format3($0.meanCE))" }.joined(separator: ", ")
        let low = LineChart.label(range.lowerBound, step: 0.01)
        let high = LineChart.label(range.upperBound, step: 0.01)
        let caption =
            "\(size) calibration images, \(Self.drawText(row)): pixelwise coverage error CE\(k) of class \(classIndex) on the test set, per pixel (lower is better). Mean CE: \(means). One colour range, \(low) to \(high), for every map of this section; CE above \(high) is drawn at the top colour (yellow). Grey pixels have no CE: the test set has no target pixel of class \(classIndex) there."
        return Row(section: Self.ceSection, caption: caption, panels: panels)
    }

    private func maskRow(size: Int, _ row: [Shown]) -> Row {
        let masks = row.compactMap { shown in shown.mask.map { (shown.method, $0) } }
        var items: [PanelRow.Item] = []
        for (method, mask) in masks {
            items.append(.panel(mask.panel))
            items.append(.keys(.init(file: "key_mask_\(method)-n\(size).svg", keys: [.swatches(mask.legend)])))
        }
        let parts = masks.map { method, mask -> String in
            var text = "\(method): \(mask.groupCount) groups of class \(mask.classIndex)"
            if let theta = mask.theta { text += "; " + (Self.thetaCaption(theta) ?? "θ = \(theta)") }
            return text + "."
        }
        var caption =
            "\(size) calibration images, \(Self.drawText(row)): the groups of pixels that share one threshold. \(parts.joined(separator: " ")) Colours name groups, not values: each map's legend says which."
        if masks.contains(where: { $0.1.theta != nil }) {
            caption +=
                " θ = (cx, cy, r1, r2, r3) in pixels: the centre measured from the image centre, y upwards, and the radii of the disc and the two rings."
        }
        return Row(section: Self.maskSection, caption: caption, panels: PanelRow(items: items))
    }

    private func setsRow(size: Int, _ row: [Shown]) -> Row? {
        guard let examples else { return nil }
        let c = classIndex
        let probabilityBar = ColourBar(
            range: 0...1, scale: .grey, title: ["probability", "of class \(c)"], length: 140)
        let legend = SwatchLegend(
            title: ["prediction set", "of class \(c), α = \(LineChart.label(alpha))"],
            entries: Self.setLegend.map { ($0.colour, $0.label) })
        let items: [PanelRow.Item] =
            [
                .panel(examples.target), .panel(examples.probability),
                .keys(.init(file: "key_probability.svg", keys: [.bar(probabilityBar)])),
            ]
            + row.compactMap { $0.sets.map { .panel($0) } }
            + [.keys(.init(file: "key_sets.svg", keys: [.swatches(legend)]))]
        let panels = PanelRow(
            items: items, bands: examples.count, bandGap: Self.bandGap,
            bandLabels: (1...examples.count).map { "test image \($0)" })
        let colours = Self.setLegend.map { "\($0.name): \($0.label)" }.joined(separator: "; ")
        let caption =
            "\(size) calibration images, \(Self.drawText(row)): the first \(examples.count) test image\(examples.count == 1 ? "" : "s") (one per row). Columns: the target mask of class \(c) (white where the pixel is class \(c)), the network's probability of class \(c) (black 0 to white 1), then each strategy's prediction set of class \(c) at α = \(LineChart.label(alpha)) (confidence \(LineChart.label(1 - alpha))): \(colours)."
        return Row(section: Self.setsSection + " (α = \(LineChart.label(alpha)))", caption: caption, panels: panels)
    }

    /// A row's figure before it is drawn.
    private struct Row {
        var section: String
        var caption: String
        var panels: PanelRow
    }

    /// Puts a row's figure into ``figures``, replacing the row's earlier figure, and writes its keys.
    private func place(_ row: Row?, key: String) throws {
        guard let row else { return }
        for (file, svg) in row.panels.keyDocuments { try writeFile(Data(svg.utf8), file) }
        let figure = ReportFigure(
            section: row.section, title: row.caption,
            content: .panels(svg: row.panels.svg(id: key), markdown: row.panels.markdown(caption: row.caption)))
        if let old = placed[key],
            let index = figures.firstIndex(where: { $0.section == old.section && $0.title == old.title })
        {
            figures[index] = figure
        } else {
            insert(figure)
        }
        placed[key] = (row.section, row.caption)
    }

    static let ceSection = "Coverage-error maps", coverageSection = "Coverage diagrams",
        maskSection = "Kandinsky masks",
        setsSection = "Example prediction sets"

    /// Sections in report order (the sets' section names its α after this prefix).
    private static let sectionOrder = [ceSection, coverageSection, maskSection, setsSection]

    /// Adds `figure` after the last figure of its section or of any section before it, so the
    /// sections keep ``sectionOrder`` whichever strategy first draws one (`pixel` has no mask).
    private func insert(_ figure: ReportFigure) {
        func rank(_ section: String) -> Int {
            Self.sectionOrder.firstIndex { section.hasPrefix($0) } ?? Self.sectionOrder.count
        }
        let mine = rank(figure.section)
        let index = figures.lastIndex { rank($0.section) <= mine }.map { $0 + 1 } ?? 0
        figures.insert(figure, at: index)
    }

    private func writeFile(_ data: Data, _ name: String) throws {
        try ExperimentError.writeAtomically(data, to: directory.appendingPathComponent(name))
    }

    // MARK: - Captions and legends

    /// x to 0.1 (`12.3`, `−4.0`, never `−0.0`), with a true minus sign.
    static func tenths(_ x: Double) -> String {
        let text = String(format: "%.1f", x)
        if Double(text) == 0 { return "0.0" }
        return text.hasPrefix("-") ? "−" + text.dropFirst() : text
    }

    /// θ = (cx, cy, r1, r2, r3) as `θ = (cx 12.3, cy −4.0, r1 10.2, r2 20.5, r3 30.1)`; another
    /// count of values is listed to 0.1 without names.
    static func thetaText(_ values: [Double]) -> String {
        let names = ["cx", "cy", "r1", "r2", "r3"]
        let parts = values.enumerated().map { i, v in
            values.count == names.count ? "\(names[i]) \(tenths(v))" : tenths(v)
        }
        return "θ = (" + parts.joined(separator: ", ") + ")"
    }

    /// The `theta` finding of `gen-ann` for a caption, to 0.1 pixel: a list for one grouped class
    /// (`θ = (cx 12.3, …)`), lists by class index for several (`class 1: θ = (…); class 2: θ = (…)`,
    /// by class index); nil when it is neither.
    static func thetaCaption(_ theta: Finding) -> String? {
        if let values = theta.numberList { return thetaText(values) }
        guard case .perClass(let byClass) = theta, !byClass.isEmpty else { return nil }
        var parts: [(Int, String)] = []
        for (c, value) in byClass {
            guard let values = value.numberList else { return nil }
            parts.append((c, "class \(c): \(thetaText(values))"))
        }
        return parts.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: "; ")
    }

    /// The θ of class `classIndex` in a `theta` finding (a list, or lists by class index).
    static func thetaValues(_ theta: Finding, classIndex: Int) -> [Double]? {
        theta.value(ofClass: classIndex)?.numberList
    }

    /// The colour of group g of G in a mask: viridis at g/(G − 1), as ``HeatMap`` draws the
    /// labels over the range 0…G − 1.
    static func groupColour(_ g: Int, of count: Int) -> RGB {
        RGB(HeatMap.viridis(count > 1 ? Float(g) / Float(count - 1) : 0))
    }

    /// The legend of a mask's groups: for `gen-ann` (4 groups) the disc, the two rings and the
    /// outside with their radii when θ is known; for `kmeans` the clusters, numbered by ascending
    /// curve, and the extra group of pixels without a calibration score (id k, when present).
    static func groupLegend(method: String, groupCount: Int, parameters: String, theta: [Double]?) -> SwatchLegend {
        var labels = (0..<groupCount).map { "group \($0)" }
        var title = ["\(method) groups"]
        switch method {
        case "gen-ann" where groupCount == 4:
            let radii = theta.flatMap { $0.count == 5 ? Array($0[2...]) : nil }
            labels[0] += radii.map { " (disc, r ≤ \(tenths($0[0])))" } ?? " (disc)"
            labels[1] += radii.map { " (ring, r ≤ \(tenths($0[1])))" } ?? " (inner ring)"
            labels[2] += radii.map { " (ring, r ≤ \(tenths($0[2])))" } ?? " (outer ring)"
            labels[3] += " (outside)"
            if let theta, theta.count == 5 { title.append("centre (\(tenths(theta[0])), \(tenths(theta[1])))") }
        case "kmeans":
            let clusters: Int? =
                if case .object(let members)? = JSONValue(parsing: parameters),
                    case .integer(let count)? = members["clusterCount"]
                {
                    count
                } else {
                    nil
                }
            let k = min(groupCount, clusters ?? groupCount)
            if k > 1 {
                labels[0] += " (lowest curves)"
                labels[k - 1] += " (highest curves)"
            }
            if groupCount == k + 1 { labels[k] += " (no score)" }
        default:
            break
        }
        return SwatchLegend(
            title: title, entries: labels.enumerated().map { (groupColour($0.offset, of: groupCount), $0.element) })
    }

    // MARK: - Prediction-set strips

    /// Map pixels between the stacked example images.
    static let bandGap = 4

    /// The colours of a prediction-set strip, in legend order.
    static let setLegend: [(name: String, colour: RGB, label: String)] = [
        ("green", RGB(40, 180, 60), "in the set and the true class"),
        ("blue", RGB(60, 90, 220), "in the set, not the true class"),
        ("red", RGB(220, 40, 40), "true class, missed"),
        ("black", RGB(0, 0, 0), "neither"),
    ]

    /// The example images stacked top to bottom, ``bandGap`` white rows apart, each pixel
    /// coloured by `colour(target, probability, index)` of class c, the index `i · H · W + y · W + x`
    /// of pixel (y, x) of image i.
    /// - Complexity: O(N · H · W), reading the class's planes of the contiguous [N, C, H, W] arrays.
    static func strip(_ outputs: NetworkOutputs, classIndex c: Int, colour: (Bool, Double, Int) -> RGB) -> Data {
        let (n, classes) = (outputs.count, outputs.probabilities.shape[1])
        let (h, w) = (outputs.probabilities.shape[2], outputs.probabilities.shape[3])
        let plane = h * w
        let bands = outputs.targets.withUnsafeBufferPointer { targets in
            outputs.probabilities.withUnsafeBufferPointer { probabilities in
                (0..<n).map { i in
                    let base = (i * classes + c) * plane
                    var rgb = [UInt8](repeating: 0, count: plane * 3)
                    for j in 0..<plane {
                        let p = Double(Float(probabilities[base + j]))
                        let pixel = colour(targets[base + j] == 1, p, i * plane + j)
                        rgb[3 * j] = pixel.red
                        rgb[3 * j + 1] = pixel.green
                        rgb[3 * j + 2] = pixel.blue
                    }
                    return RGBImage(width: w, height: h, pixels: rgb)
                }
            }
        }
        let image = RGBImage.grid(bands, columns: 1, gap: bandGap, margin: 0)
        return PNGImage.encode(rgb8: image.pixels, width: image.width, height: image.height)
    }

    /// The prediction sets of class c as a strip: green where the class is the target and in the
    /// set (covered), blue where it is in the set only, red where it is the target but not in the
    /// set (missed), black where it is neither (``setLegend``). `sets` is [N, C, H, W].
    static func predictionSetStrip(_ outputs: NetworkOutputs, sets: ShapedArray<UInt8>, classIndex c: Int) -> Data {
        let plane = outputs.probabilities.shape[2] * outputs.probabilities.shape[3]
        let classes = sets.shape[1]
        return sets.withUnsafeBufferPointer { sets in
            strip(outputs, classIndex: c) { target, _, index in
                let i = index / plane
                return switch (target, sets[(i * classes + c) * plane + index % plane] == 1) {
                case (true, true): setLegend[0].colour
                case (false, true): setLegend[1].colour
                case (true, false): setLegend[2].colour
                case (false, false): setLegend[3].colour
                }
            }
        }
    }
}

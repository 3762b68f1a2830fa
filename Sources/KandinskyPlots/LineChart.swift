import Foundation

/// A small SVG line chart: several named series over a shared x axis, optional error bars and a
/// logarithmic x axis. Self-contained (no scripts, no external fonts), so it embeds in HTML;
/// coordinates, escaping and colours are those of every SVG figure of the package (`SVG`).
public struct LineChart: Sendable {
    /// One line of the chart.
    public struct Series: Sendable {
        /// How a series is drawn.
        public enum Style: Sendable {
            /// A solid line with a dot at every point (data).
            case data
            /// A dashed grey line without dots (a target or reference, such as y = 1 − x).
            case reference
        }

        /// The legend entry.
        public var name: String
        /// The points, in drawing order.
        public var points: [(x: Double, y: Double)]
        /// Half-widths of vertical error bars, one per point (empty for none).
        public var errors: [Double]
        /// Vertical error bars from `lower` to `upper`, one per point or none (empty); when not
        /// empty they replace ``errors``. Intervals need not be symmetric (a bootstrap's are not).
        public var intervals: [(lower: Double, upper: Double)?]
        /// Data or reference line.
        public var style: Style

        /// A series; `errors` is empty or has one half-width per point.
        public init(name: String, points: [(x: Double, y: Double)], errors: [Double] = []) {
            self.name = name
            self.points = points
            self.errors = errors
            self.intervals = []
            self.style = .data
        }

        /// A series with an interval (or nil for none) per point.
        public init(
            name: String, points: [(x: Double, y: Double)], intervals: [(lower: Double, upper: Double)?],
            style: Style = .data
        ) {
            self.name = name
            self.points = points
            self.errors = []
            self.intervals = intervals
            self.style = style
        }

        /// The error bar of point `i`, if it has one with finite ends.
        package func bar(_ i: Int) -> (lower: Double, upper: Double)? {
            if !intervals.isEmpty {
                guard i < intervals.count, let bar = intervals[i], bar.lower.isFinite, bar.upper.isFinite else {
                    return nil
                }
                return bar
            }
            guard i < errors.count, errors[i].isFinite, errors[i] > 0, i < points.count else { return nil }
            return (points[i].y - errors[i], points[i].y + errors[i])
        }
    }

    /// The heading drawn above the plot.
    public var title: String
    /// The x-axis label.
    public var xLabel: String
    /// The y-axis label.
    public var yLabel: String
    /// The lines, each in its own colour.
    public var series: [Series]
    /// Whether x is drawn on a log₁₀ scale (calibration-set sizes span 10 to 1000).
    public var logarithmicX = false
    /// The x values that get a tick and a number; nil for round values (linear) or the points'
    /// x values (logarithmic).
    public var xTicks: [Double]?
    /// The x range drawn; nil to fit the points.
    public var xDomain: ClosedRange<Double>?
    /// The y range drawn; nil to fit the points and their error bars with 5 % to spare. Charts
    /// meant to be compared side by side share one.
    public var yDomain: ClosedRange<Double>?
    /// Pixels between the x positions of neighbouring data series at the same x, so their error
    /// bars do not hide each other; the series stay centred on the true x (0: no offset).
    public var dodge = 0.0
    /// Width of the SVG in pixels.
    public var width = 560.0
    /// Height of the SVG in pixels.
    public var height = 360.0

    /// A chart of the default size.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], logarithmicX: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logarithmicX = logarithmicX
    }

    /// The smallest and largest finite y of the points and their error bars, nil without any.
    package var yExtent: ClosedRange<Double>? {
        let values = series.flatMap { s in
            s.points.indices.flatMap { i -> [Double] in
                guard s.points[i].y.isFinite, s.points[i].x.isFinite, !logarithmicX || s.points[i].x > 0 else {
                    return []
                }
                return [s.points[i].y] + (s.bar(i).map { [$0.lower, $0.upper] } ?? [])
            }
        }
        guard let low = values.min(), let high = values.max() else { return nil }
        return low...high
    }

    /// The chart as an SVG document. Points with a non-finite coordinate (or x ≤ 0 on a log
    /// axis) are left out, and a line breaks there; a chart without any point says "no data".
    public var svg: String {
        let left = 64.0
        let right = 150.0
        let top = 36.0
        let bottom = 48.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let drawable = { (p: (x: Double, y: Double)) in p.x.isFinite && p.y.isFinite && (!logarithmicX || p.x > 0) }
        let xs = series.flatMap { $0.points.filter(drawable).map(\.x) }
        let tx: (Double) -> Double = { logarithmicX ? log10($0) : $0 }
        var xMin = xDomain.map { tx($0.lowerBound) } ?? xs.map(tx).min() ?? 0
        var xMax = xDomain.map { tx($0.upperBound) } ?? xs.map(tx).max() ?? 1
        var yMin: Double
        var yMax: Double
        if let yDomain {
            (yMin, yMax) = (yDomain.lowerBound, yDomain.upperBound)
        } else {
            (yMin, yMax) = (yExtent?.lowerBound ?? 0, yExtent?.upperBound ?? 1)
        }
        if !(xMax - xMin >= 1e-12) {
            xMin -= 0.5
            xMax += 0.5
        }
        if !(yMax - yMin >= 1e-12) {
            yMin -= 0.5
            yMax += 0.5
        }
        if yDomain == nil {
            let pad = 0.05 * (yMax - yMin)
            yMin -= pad
            yMax += pad
        }
        // Dodged series need room at the ends of the x range, where their points would sit on the frame.
        let dataCount = Double(series.filter { $0.style == .data }.count)
        let inset = dodge > 0 ? dodge * (dataCount - 1) / 2 + 8 : 0
        let px: (Double) -> Double = { left + inset + (tx($0) - xMin) / (xMax - xMin) * (plotWidth - 2 * inset) }
        let py: (Double) -> Double = { top + (1 - ($0 - yMin) / (yMax - yMin)) * plotHeight }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left + plotWidth / 2)" y="20" text-anchor="middle" font-size="14">\(SVG.escape(title))</text>
            <rect x="\(left)" y="\(top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#333"/>

            """
        let yTicks = Self.ticks(from: yMin, to: yMax)
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 0
        for tick in yTicks {
            let y = py(tick)
            out += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(left + plotWidth)\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            out +=
                "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(yStep > 0 ? Self.label(tick, step: yStep) : Self.label(tick))</text>\n"
        }
        let xTicks: [Double] = (self.xTicks ?? (logarithmicX ? Set(xs).sorted() : Self.ticks(from: xMin, to: xMax)))
            .filter { $0.isFinite && (!logarithmicX || $0 > 0) && tx($0) >= xMin - 1e-9 && tx($0) <= xMax + 1e-9 }
        for tick in xTicks {
            let x = px(tick)
            out +=
                "<line x1=\"\(f(x))\" y1=\"\(top + plotHeight)\" x2=\"\(f(x))\" y2=\"\(top + plotHeight + 4)\" stroke=\"#333\"/>"
            out +=
                "<text x=\"\(f(x))\" y=\"\(top + plotHeight + 18)\" text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        out +=
            "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(SVG.escape(xLabel))</text>\n"
        out +=
            "<text transform=\"translate(16 \(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(SVG.escape(yLabel))</text>\n"
        if xs.isEmpty {
            out +=
                "<text x=\"\(left + plotWidth / 2)\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n"
        }
        let dataSeries = series.indices.filter { series[$0].style == .data }
        var legend = ""
        var colourIndex = 0
        for (index, s) in series.enumerated() {
            let colour: String
            switch s.style {
            case .data:
                colour = SVG.palette[colourIndex % SVG.palette.count]
                colourIndex += 1
            case .reference:
                colour = SVG.reference
            }
            let rank = Double(dataSeries.firstIndex(of: index) ?? 0) - Double(dataSeries.count - 1) / 2
            let shift = s.style == .data ? dodge * rank : 0
            let dash = s.style == .reference ? " stroke-dasharray=\"6,4\"" : ""
            // Runs of drawable points, so a missing point breaks the line instead of bridging it.
            var runs: [[String]] = [[]]
            for p in s.points {
                if drawable(p) {
                    runs[runs.count - 1].append("\(f(px(p.x) + shift)),\(f(py(p.y)))")
                } else if !runs[runs.count - 1].isEmpty {
                    runs.append([])
                }
            }
            for run in runs where run.count > 1 {
                out +=
                    "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(run.joined(separator: " "))\"/>\n"
            }
            if s.style == .data {
                for (i, p) in s.points.enumerated() where drawable(p) {
                    let x = px(p.x) + shift
                    out += "<circle cx=\"\(f(x))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>"
                    if let bar = s.bar(i), bar.upper > bar.lower {
                        let (y0, y1) = (py(bar.lower), py(bar.upper))
                        out +=
                            "<path d=\"M\(f(x)),\(f(y0)) V\(f(y1)) M\(f(x - 3)),\(f(y0)) H\(f(x + 3)) M\(f(x - 3)),\(f(y1)) H\(f(x + 3))\" stroke=\"\(colour)\" fill=\"none\"/>"
                    }
                }
                out += "\n"
            }
            let ly = top + 10 + Double(index) * 18
            legend +=
                "<line x1=\"\(left + plotWidth + 12)\" y1=\"\(ly)\" x2=\"\(left + plotWidth + 32)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>"
            legend += "<text x=\"\(left + plotWidth + 38)\" y=\"\(ly + 4)\">\(SVG.escape(s.name))</text>\n"
        }
        return out + legend + "</svg>\n"
    }

    private func f(_ value: Double) -> String { SVG.coordinate(value) }

    /// About five round tick values covering [low, high].
    package static func ticks(from low: Double, to high: Double) -> [Double] {
        let raw = (high - low) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var t = ceil(low / step) * step
        while t <= high + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return ticks
    }

    /// `value` as a tick or legend number: an integer without decimals, else three significant
    /// digits (two below 0.01).
    package static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: abs(value) < 0.01 ? "%.2g" : "%.3g", value)
    }

    /// `value` with as many decimals as `step` needs (step 0.05: `0.10`; step 0.2: `0.4`; step 5:
    /// `15`), so every tick of one axis has the same number of decimals.
    package static func label(_ value: Double, step: Double) -> String {
        let decimals = step > 0 && step.isFinite ? max(0, Int(-floor(log10(step) + 1e-9))) : 3
        let text = String(format: "%.\(decimals)f", value)
        // "-0.00" for a tick a rounding error below 0.
        return Double(text) == 0 ? String(format: "%.\(decimals)f", 0.0) : text
    }
}

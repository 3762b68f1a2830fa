import Foundation

/// A small SVG line chart: several named series over a shared x axis, optional error bars and a
/// logarithmic x axis. Self-contained (no scripts, no external fonts), so it embeds in HTML.
public struct LineChart: Sendable {
    /// One line of the chart.
    public struct Series: Sendable {
        /// The legend entry.
        public var name: String
        /// The points, in drawing order.
        public var points: [(x: Double, y: Double)]
        /// Half-widths of vertical error bars, one per point (empty for none).
        public var errors: [Double]

        /// A series; `errors` is empty or has one half-width per point.
        public init(name: String, points: [(x: Double, y: Double)], errors: [Double] = []) {
            self.name = name
            self.points = points
            self.errors = errors
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

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]

    /// The chart as an SVG document.
    public var svg: String {
        let left = 64.0, right = 150.0, top = 36.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let finite = series.flatMap { s in s.points.enumerated().compactMap { i, p -> (Double, Double, Double)? in
            guard p.y.isFinite, p.x.isFinite, !logarithmicX || p.x > 0 else { return nil }
            return (p.x, p.y, i < s.errors.count && s.errors[i].isFinite ? s.errors[i] : 0)
        } }
        let tx: (Double) -> Double = { logarithmicX ? log10($0) : $0 }
        var xMin = finite.map { tx($0.0) }.min() ?? 0, xMax = finite.map { tx($0.0) }.max() ?? 1
        var yMin = finite.map { $0.1 - $0.2 }.min() ?? 0, yMax = finite.map { $0.1 + $0.2 }.max() ?? 1
        if xMax - xMin < 1e-12 { xMin -= 0.5; xMax += 0.5 }
        if yMax - yMin < 1e-12 { yMin -= 0.5; yMax += 0.5 }
        let pad = 0.05 * (yMax - yMin)
        yMin -= pad; yMax += pad
        let px: (Double) -> Double = { left + (tx($0) - xMin) / (xMax - xMin) * plotWidth }
        let py: (Double) -> Double = { top + (1 - ($0 - yMin) / (yMax - yMin)) * plotHeight }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left + plotWidth / 2)" y="20" text-anchor="middle" font-size="14">\(Self.escape(title))</text>
        <rect x="\(left)" y="\(top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#333"/>

        """
        for tick in Self.ticks(from: yMin, to: yMax) {
            let y = py(tick)
            out += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(left + plotWidth)\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.label(tick))</text>\n"
        }
        let xTicks: [Double] = logarithmicX
            ? Set(finite.map(\.0)).sorted()
            : Self.ticks(from: xMin, to: xMax)
        for tick in xTicks {
            let x = px(tick)
            out += "<line x1=\"\(f(x))\" y1=\"\(top + plotHeight)\" x2=\"\(f(x))\" y2=\"\(top + plotHeight + 4)\" stroke=\"#333\"/>"
            out += "<text x=\"\(f(x))\" y=\"\(top + plotHeight + 18)\" text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        out += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (index, s) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = s.points.enumerated().filter { $0.element.y.isFinite && (!logarithmicX || $0.element.x > 0) }
            let path = points.map { "\(f(px($0.element.x))),\(f(py($0.element.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            for (i, p) in points {
                out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>"
                if i < s.errors.count, s.errors[i].isFinite, s.errors[i] > 0 {
                    out += "<line x1=\"\(f(px(p.x)))\" y1=\"\(f(py(p.y - s.errors[i])))\" x2=\"\(f(px(p.x)))\" y2=\"\(f(py(p.y + s.errors[i])))\" stroke=\"\(colour)\"/>"
                }
            }
            let ly = top + 10 + Double(index) * 18
            out += "\n<line x1=\"\(left + plotWidth + 12)\" y1=\"\(ly)\" x2=\"\(left + plotWidth + 32)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
            out += "<text x=\"\(left + plotWidth + 38)\" y=\"\(ly + 4)\">\(Self.escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// About five round tick values covering [low, high].
    static func ticks(from low: Double, to high: Double) -> [Double] {
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

    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: abs(value) < 0.01 ? "%.2g" : "%.3g", value)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

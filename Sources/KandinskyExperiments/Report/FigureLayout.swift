import Foundation
import KandinskyCalibration
import KandinskyPlots

// The report's picture figures: PNG panels side by side in one SVG row with their headers, colour
// bars and legends. Text is drawn as SVG (a PNG has no font), the PNGs go in as data URIs, so the
// HTML stays self-contained; report.md gets the same row as a table of the PNG files with the keys
// as SVG files (see ``PanelRow/markdown(caption:)``).

/// Text placement helpers shared by the keys and the rows.
enum FigureText {
    /// The font size of keys, headers and labels, in SVG pixels.
    static let size = 12.0
    /// The line height.
    static let line = 15.0

    /// An estimate of the width of `text` at ``size``: no font metrics are available when the
    /// SVG is written, so keys are laid out with 0.6 em per character (about DejaVu Sans's
    /// average, generous for narrower sans-serif fonts).
    static func width(_ text: String, size: Double = FigureText.size) -> Double {
        Double(text.count) * size * 0.6
    }

    /// A `<text>` element; `bold` for titles.
    static func text(_ text: String, x: Double, y: Double, anchor: String = "start", bold: Bool = false) -> String {
        let weight = bold ? " font-weight=\"bold\"" : ""
        return
            "<text x=\"\(SVG.coordinate(x))\" y=\"\(SVG.coordinate(y))\" text-anchor=\"\(anchor)\"\(weight)>\(SVG.escape(text))</text>\n"
    }
}

/// A vertical colour bar: the scale from the low end (bottom) to the high end (top) of `range`,
/// about five numbered ticks, the quantity's name above it and, for images that can have pixels
/// without a value, a swatch of their colour with the reason below it.
struct ColourBar: Sendable {
    /// The values at the bottom and the top of the bar.
    var range: ClosedRange<Double>
    /// The colours.
    var scale: ColourScale
    /// The quantity's name, one text line per element.
    var title: [String]
    /// Whether values above the range are drawn in the top colour (the top tick then reads `≥ …`).
    var clampedAbove = false
    /// The colour of pixels without a value and what it means (one line per element), if any.
    var missing: (colour: RGB, meaning: [String])?
    /// The bar's length in pixels.
    var length = 180.0

    static let barWidth = 14.0, tickLength = 4.0

    /// The tick values (``LineChart/ticks(from:to:)`` over the range) and their labels, all with
    /// the decimals of the tick step.
    var ticks: [(value: Double, label: String)] {
        let values = LineChart.ticks(from: range.lowerBound, to: range.upperBound)
        let step = values.count > 1 ? values[1] - values[0] : range.upperBound - range.lowerBound
        return values.map { value in
            let label = LineChart.label(value, step: step)
            let atTop = abs(value - range.upperBound) <= 1e-9 * max(1, abs(range.upperBound))
            return (value, clampedAbove && atTop ? "≥ " + label : label)
        }
    }

    /// The y of `value` on a bar whose top (the high end) is at `top`.
    func position(of value: Double, top: Double) -> Double {
        let span = range.upperBound - range.lowerBound
        return top + (span > 0 ? (range.upperBound - value) / span : 0) * length
    }

    private var titleHeight: Double { Double(title.count) * FigureText.line + 10 }

    /// Width and height of the key.
    var size: (width: Double, height: Double) {
        let labels = ticks.map { FigureText.width($0.label) }.max() ?? 0
        var width = Self.barWidth + Self.tickLength + 4 + labels
        width = max(width, title.map { FigureText.width($0) }.max() ?? 0)
        var height = titleHeight + length + 8
        if let missing {
            width = max(width, Self.barWidth + 6 + (missing.meaning.map { FigureText.width($0) }.max() ?? 0))
            height += 10 + max(Self.barWidth, Double(missing.meaning.count) * FigureText.line)
        }
        return (width, height)
    }

    /// The key as SVG elements with its top left corner at (x, y); `id` names its gradient,
    /// unique within the document.
    func svg(x: Double, y: Double, id: String) -> String {
        func c(_ v: Double) -> String { SVG.coordinate(v) }
        var out = ""
        for (i, line) in title.enumerated() {
            out += FigureText.text(line, x: x, y: y + Double(i + 1) * FigureText.line - 3)
        }
        let top = y + titleHeight
        out += "<defs><linearGradient id=\"\(id)\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
        for t in scale.stops {
            out += "<stop offset=\"\(t)\" stop-color=\"\(scale.colour(t).hex)\"/>"
        }
        out += "</linearGradient></defs>\n"
        out +=
            "<rect x=\"\(c(x))\" y=\"\(c(top))\" width=\"\(c(Self.barWidth))\" height=\"\(c(length))\" fill=\"url(#\(id))\" stroke=\"#333\" stroke-width=\"0.5\"/>\n"
        for tick in ticks {
            let ty = position(of: tick.value, top: top)
            out +=
                "<line x1=\"\(c(x + Self.barWidth))\" y1=\"\(c(ty))\" x2=\"\(c(x + Self.barWidth + Self.tickLength))\" y2=\"\(c(ty))\" stroke=\"#333\"/>"
            out += FigureText.text(tick.label, x: x + Self.barWidth + Self.tickLength + 3, y: ty + 4)
        }
        if let missing {
            let sy = top + length + 18
            out +=
                "<rect x=\"\(c(x))\" y=\"\(c(sy))\" width=\"\(c(Self.barWidth))\" height=\"\(c(Self.barWidth))\" fill=\"\(missing.colour.hex)\" stroke=\"#333\" stroke-width=\"0.5\"/>\n"
            for (i, line) in missing.meaning.enumerated() {
                out += FigureText.text(line, x: x + Self.barWidth + 6, y: sy + 11 + Double(i) * FigureText.line)
            }
        }
        return out
    }
}

/// A legend of categorical colours: a title and one swatch with its meaning per entry.
struct SwatchLegend: Sendable {
    /// The heading, one text line per element (may be empty).
    var title: [String]
    /// The colours and what they stand for.
    var entries: [(colour: RGB, label: String)]

    static let swatch = 12.0

    /// Width and height of the key.
    var size: (width: Double, height: Double) {
        let width = max(
            title.map { FigureText.width($0) }.max() ?? 0,
            Self.swatch + 6 + (entries.map { FigureText.width($0.label) }.max() ?? 0))
        return (width, Double(title.count) * FigureText.line + Double(entries.count) * (FigureText.line + 3) + 4)
    }

    /// The key as SVG elements with its top left corner at (x, y).
    func svg(x: Double, y: Double) -> String {
        var out = ""
        for (i, line) in title.enumerated() {
            out += FigureText.text(line, x: x, y: y + Double(i + 1) * FigureText.line - 3, bold: i == 0)
        }
        var ey = y + Double(title.count) * FigureText.line + 4
        for entry in entries {
            out +=
                "<rect x=\"\(SVG.coordinate(x))\" y=\"\(SVG.coordinate(ey))\" width=\"\(Self.swatch)\" height=\"\(Self.swatch)\" fill=\"\(entry.colour.hex)\" stroke=\"#333\" stroke-width=\"0.5\"/>"
            out += FigureText.text(entry.label, x: x + Self.swatch + 6, y: ey + 10)
            ey += FigureText.line + 3
        }
        return out
    }
}

/// A colour bar or a swatch legend.
enum FigureKey: Sendable {
    case bar(ColourBar)
    case swatches(SwatchLegend)

    var size: (width: Double, height: Double) {
        switch self {
        case .bar(let bar): bar.size
        case .swatches(let legend): legend.size
        }
    }

    func svg(x: Double, y: Double, id: String) -> String {
        switch self {
        case .bar(let bar): bar.svg(x: x, y: y, id: id)
        case .swatches(let legend): legend.svg(x: x, y: y)
        }
    }
}

/// One row of a figure: PNG panels side by side, each under its header, and columns of keys
/// between or after them, drawn as one SVG.
///
/// Every panel is shown at the same scale, chosen so the row fits ``maxWidth`` with panels at
/// most ``maxPanelWidth`` wide; a panel that stacks several images (``bands``) is labelled band
/// by band on the left (``bandLabels``).
struct PanelRow: Sendable {
    /// A PNG in the report's folder.
    struct Panel: Sendable {
        /// Lines above the panel; the first is bold.
        var header: [String]
        /// The PNG's file name in the report folder (report.md links it).
        var file: String
        /// The PNG.
        var png: Data
        /// Its width and height in map pixels (the PNG may be an integer multiple of them).
        var width: Int, height: Int
    }

    /// Keys stacked in one column.
    struct Keys: Sendable {
        /// The file report.md shows them from (written by ``keyDocuments``).
        var file: String
        var keys: [FigureKey]
    }

    enum Item: Sendable {
        case panel(Panel)
        case keys(Keys)
    }

    /// The panels and key columns, left to right.
    var items: [Item]
    /// The images stacked in each panel (the same for every panel), top to bottom.
    var bands = 1
    /// Map pixels between stacked images.
    var bandGap = 0
    /// A label per band, drawn rotated on the left; empty for none.
    var bandLabels: [String] = []
    /// The widest the row may be, in pixels (the report's page is 1200 wide).
    var maxWidth = 1160.0
    /// The widest a panel may be shown.
    var maxPanelWidth = 256.0

    static let gap = 12.0, keyGap = 16.0

    private var panels: [Panel] { items.compactMap { if case .panel(let p) = $0 { p } else { nil } } }
    private var keyColumns: [Keys] { items.compactMap { if case .keys(let k) = $0 { k } else { nil } } }

    private func columnWidth(_ keys: Keys) -> Double { keys.keys.map(\.size.width).max() ?? 0 }
    private func columnHeight(_ keys: Keys) -> Double {
        keys.keys.map(\.size.height).reduce(0, +) + Self.keyGap * Double(max(0, keys.keys.count - 1))
    }

    private var labelWidth: Double { bandLabels.isEmpty ? 0 : FigureText.line + 6 }

    /// Display pixels per map pixel: the largest that fits the panels into what the keys leave.
    var scale: Double {
        let widest = Double(panels.map(\.width).max() ?? 1)
        let fixed = labelWidth + keyColumns.map(columnWidth).reduce(0, +) + Self.gap * Double(max(0, items.count - 1))
        let room = (maxWidth - fixed) / Double(max(1, panels.count))
        return max(0.25, min(maxPanelWidth, room) / widest)
    }

    private var headerHeight: Double {
        Double(panels.map(\.header.count).max() ?? 0) * FigureText.line + 6
    }

    /// `keys` with their colour bars lengthened or shortened (to 100 pixels at least) so the
    /// column is as tall as the panels, `height`.
    private func fitted(_ keys: Keys, to height: Double) -> Keys {
        let bars = keys.keys.filter { if case .bar = $0 { true } else { false } }.count
        guard bars > 0 else { return keys }
        let change = (height - columnHeight(keys)) / Double(bars)
        var fitted = keys
        fitted.keys = keys.keys.map { key in
            guard case .bar(var bar) = key else { return key }
            bar.length = max(100, bar.length + change)
            return .bar(bar)
        }
        return fitted
    }

    /// The row as a standalone SVG document (inlined into the HTML); `id` makes its gradient
    /// ids unique in the page.
    func svg(id: String) -> String {
        func c(_ v: Double) -> String { SVG.coordinate(v) }
        let scale = self.scale
        let top = headerHeight
        let panelHeight = Double(panels.map(\.height).max() ?? 0) * scale
        var x = labelWidth
        var body = ""
        var bottom = top
        for (index, item) in items.enumerated() {
            switch item {
            case .panel(let panel):
                let (w, h) = (Double(panel.width) * scale, Double(panel.height) * scale)
                for (i, line) in panel.header.enumerated() {
                    body += FigureText.text(
                        line, x: x + w / 2, y: Double(i + 1) * FigureText.line - 3, anchor: "middle", bold: i == 0)
                }
                body +=
                    "<image x=\"\(c(x))\" y=\"\(c(top))\" width=\"\(c(w))\" height=\"\(c(h))\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,\(panel.png.base64EncodedString())\"><title>\(SVG.escape(panel.header.joined(separator: ", ")))</title></image>\n"
                bottom = max(bottom, top + h)
                x += w
            case .keys(let keys):
                let keys = fitted(keys, to: panelHeight)
                var y = top
                for (k, key) in keys.keys.enumerated() {
                    body += key.svg(x: x, y: y, id: "\(id)-\(index)-\(k)")
                    y += key.size.height + Self.keyGap
                }
                bottom = max(bottom, top + columnHeight(keys))
                x += columnWidth(keys)
            }
            if index < items.count - 1 { x += Self.gap }
        }
        if !bandLabels.isEmpty, let first = panels.first {
            let bandHeight = (Double(first.height) - Double(bandGap * (bands - 1))) / Double(bands) * scale
            for (b, label) in bandLabels.prefix(bands).enumerated() {
                let cy = top + Double(b) * (bandHeight + Double(bandGap) * scale) + bandHeight / 2
                body +=
                    "<text transform=\"translate(\(c(FigureText.line - 2)) \(c(cy))) rotate(-90)\" text-anchor=\"middle\">\(SVG.escape(label))</text>\n"
            }
        }
        let width = (x + 2).rounded(.up)
        let height = (bottom + 4).rounded(.up)
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="\(Int(FigureText.size))" style="max-width:100%;height:auto">
            <rect width="100%" height="100%" fill="white"/>
            \(body)</svg>

            """
    }

    /// Each key column as a standalone SVG document, by its file name, for report.md.
    var keyDocuments: [(file: String, svg: String)] {
        keyColumns.map { column in
            let width = (columnWidth(column) + 4).rounded(.up)
            let height = (columnHeight(column) + 4).rounded(.up)
            var body = ""
            var y = 2.0
            for (k, key) in column.keys.enumerated() {
                body += key.svg(x: 2, y: y, id: "key-\(k)")
                y += key.size.height + Self.keyGap
            }
            return (
                column.file,
                """
                <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="\(Int(FigureText.size))">
                <rect width="100%" height="100%" fill="white"/>
                \(body)</svg>

                """
            )
        }
    }

    /// The row for report.md: a table of the PNG files under their headers, the keys' SVG files
    /// below it, then the caption.
    func markdown(caption: String) -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        let panels = self.panels
        var text = "| " + panels.map { cell($0.header.joined(separator: ", ")) }.joined(separator: " | ") + " |\n"
        text += "|" + String(repeating: " --- |", count: panels.count) + "\n"
        text +=
            "| " + panels.map { "![\(cell($0.header.first ?? ""))](\($0.file))" }.joined(separator: " | ") + " |\n\n"
        for column in keyColumns {
            let names = column.keys.map { key -> String in
                switch key {
                case .bar(let bar): "colour bar: " + bar.title.joined(separator: " ")
                case .swatches(let legend): "legend: " + legend.title.joined(separator: " ")
                }
            }
            text += "![\(cell(names.joined(separator: "; ")))](\(column.file)) "
        }
        return text + "\n\n*" + caption + "*"
    }
}

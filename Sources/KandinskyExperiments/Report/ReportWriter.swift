import Foundation
import KandinskyCore

/// A figure of the report: an SVG drawn in memory or a PNG file in the report's folder.
public struct ReportFigure: Sendable {
    /// The figure's image.
    public enum Content: Sendable {
        /// An SVG document, inlined into the HTML.
        case svg(String)
        /// A PNG file, by name relative to the report folder.
        case png(String)
    }

    /// The report section the figure goes under.
    public var section: String
    /// The caption.
    public var title: String
    /// The image.
    public var content: Content

    /// A figure in `section` with caption `title`.
    public init(section: String, title: String, content: Content) {
        self.section = section
        self.title = title
        self.content = content
    }
}

/// Writes `report.html` (self-contained: SVG inline, PNGs as data URIs), `report.md` and
/// `summary.json` from a ``StudySummary`` and its figures.
public struct ReportWriter {
    /// Where the report files are written.
    public let directory: URL

    /// A writer into `directory`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// The table of mean pixelwise CE (± spread over draws) by strategy × calibration size, as
    /// Markdown.
    public static func markdownTable(_ summary: StudySummary) -> String {
        let sizes = summary.calibrationSizes
        var lines = ["| strategy | " + sizes.map { "\($0)" }.joined(separator: " | ") + " |",
                     "| --- |" + String(repeating: " ---: |", count: sizes.count)]
        for strategy in summary.strategies {
            let cells = sizes.map { size -> String in
                guard let cell = summary.cell(strategy, size) else { return "–" }
                let best = summary.verdict.bestBySize.first { $0.size == size }?.strategy == strategy
                let text = cell.meanPixelCE.count > 1
                    ? String(format: "%.4f ± %.4f", cell.meanCE, cell.spreadCE)
                    : String(format: "%.4f", cell.meanCE)
                return best ? "**\(text)**" : text
            }
            lines.append("| \(strategy) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// The CE-against-size chart.
    public static func coverageErrorChart(_ summary: StudySummary) -> LineChart {
        LineChart(title: "Mean pixelwise coverage error against calibration-set size",
                  xLabel: "calibration images", yLabel: "mean pixelwise CE",
                  series: summary.strategies.map { strategy in
                      let cells = summary.calibrationSizes.compactMap { summary.cell(strategy, $0) }
                      return LineChart.Series(name: strategy,
                                              points: cells.map { (Double($0.calibrationImages), $0.meanCE) },
                                              errors: cells.map(\.spreadCE))
                  },
                  logarithmicX: true)
    }

    /// Figures grouped by section, sections in order of first appearance, figures in their order.
    static func groupedBySection(_ figures: [ReportFigure]) -> [ReportFigure] {
        var sections: [String] = []
        for figure in figures where !sections.contains(figure.section) { sections.append(figure.section) }
        return sections.flatMap { section in figures.filter { $0.section == section } }
    }

    /// Writes the three files atomically; figures of the same section appear together.
    public func write(summary: StudySummary, figures: [ReportFigure], title: String) throws {
        let figures = Self.groupedBySection(figures)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: Data
        do { json = try encoder.encode(summary) } catch { throw ExperimentError("cannot encode the summary: \(error)") }
        try write(json, "summary.json")
        try write(Data(markdown(summary: summary, figures: figures, title: title).utf8), "report.md")
        try write(Data(html(summary: summary, figures: figures, title: title).utf8), "report.html")
    }

    private func write(_ data: Data, _ name: String) throws {
        do { try AtomicFile.write(data, to: directory.appendingPathComponent(name)) } catch {
            throw ExperimentError("cannot write \(directory.appendingPathComponent(name).path): \(error.problem)")
        }
    }

    private func timingLines(_ summary: StudySummary) -> [String] {
        summary.stageOrder.map { stage in String(format: "%@: %.1f s", stage, summary.stageSeconds[stage] ?? 0) }
    }

    func markdown(summary: StudySummary, figures: [ReportFigure], title: String) -> String {
        var text = "# \(title)\n\n"
        text += "Dataset: \(summary.dataset), images \(summary.imageSize.map(String.init).joined(separator: " × ")), \(summary.testImages) test images, seed \(summary.seed), CE over \(summary.coverageBins) confidence bins\(summary.thresholds.map { "; thresholds: \($0)" } ?? "").\n\n"
        text += "## Does the paper's claim hold here?\n\n" + summary.verdict.sentences.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        text += "## Mean pixelwise coverage error (lower is better; mean ± standard deviation over draws; best in bold)\n\n"
        text += Self.markdownTable(summary) + "\n\n"
        var section = ""
        for (index, figure) in figures.enumerated() {
            if figure.section != section {
                section = figure.section
                text += "## \(section)\n\n"
            }
            switch figure.content {
            case .svg(let svg):
                let name = "figure-\(index).svg"
                try? AtomicFile.write(Data(svg.utf8), to: directory.appendingPathComponent(name))
                text += "![\(figure.title)](\(name))\n\n"
            case .png(let name):
                text += "![\(figure.title)](\(name))\n\n"
            }
        }
        text += "## Time per stage\n\n" + timingLines(summary).map { "- \($0)" }.joined(separator: "\n") + "\n"
        return text
    }

    func html(summary: StudySummary, figures: [ReportFigure], title: String) -> String {
        func escape(_ s: String) -> String { LineChart.escape(s) }
        var body = "<h1>\(escape(title))</h1>\n"
        body += "<p>Dataset: \(escape(summary.dataset)), images \(summary.imageSize.map(String.init).joined(separator: " × ")), \(summary.testImages) test images, seed \(summary.seed), CE over \(summary.coverageBins) confidence bins\(summary.thresholds.map { "; thresholds: \(escape($0))" } ?? "").</p>\n"
        body += "<h2>Does the paper's claim hold here?</h2>\n<ul>" + summary.verdict.sentences.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        body += "<h2>Mean pixelwise coverage error</h2>\n<p>Lower is better; mean ± standard deviation over seeded draws of the calibration set; best per size in bold.</p>\n<table><tr><th>strategy</th>"
        let sizes = summary.calibrationSizes
        body += sizes.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for strategy in summary.strategies {
            body += "<tr><td>\(escape(strategy))</td>"
            for size in sizes {
                guard let cell = summary.cell(strategy, size) else { body += "<td>–</td>"; continue }
                let best = summary.verdict.bestBySize.first { $0.size == size }?.strategy == strategy
                let text = cell.meanPixelCE.count > 1 ? String(format: "%.4f ± %.4f", cell.meanCE, cell.spreadCE) : String(format: "%.4f", cell.meanCE)
                body += best ? "<td><b>\(text)</b></td>" : "<td>\(text)</td>"
            }
            body += "</tr>\n"
        }
        body += "</table>\n"
        var section = ""
        for figure in figures {
            if figure.section != section {
                if !section.isEmpty { body += "</div>\n" }
                section = figure.section
                body += "<h2>\(escape(section))</h2>\n<div class=\"grid\">\n"
            }
            body += "<figure>"
            switch figure.content {
            case .svg(let svg):
                body += svg
            case .png(let name):
                let data = (try? Data(contentsOf: directory.appendingPathComponent(name))) ?? Data()
                body += "<img src=\"data:image/png;base64,\(data.base64EncodedString())\" alt=\"\(escape(figure.title))\"/>"
            }
            body += "<figcaption>\(escape(figure.title))</figcaption></figure>\n"
        }
        if !section.isEmpty { body += "</div>\n" }
        body += "<h2>Time per stage</h2>\n<ul>" + timingLines(summary).map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font-family: sans-serif; max-width: 1200px; margin: 2em auto; color: #222; }
        table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
        td:first-child { text-align: left; }
        .grid { display: flex; flex-wrap: wrap; gap: 12px; }
        figure { margin: 0; } figcaption { font-size: 0.9em; color: #555; }
        img { image-rendering: pixelated; max-width: 560px; }
        </style></head><body>
        \(body)
        </body></html>

        """
    }
}

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
        /// PNGs laid out in one SVG with their colour bars and legends: `svg` is inlined into the
        /// HTML (the PNGs inside as data URIs), `markdown` stands in for it in report.md (it
        /// links the PNG files and carries the caption).
        case panels(svg: String, markdown: String)
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

    /// A table as header and rows of cell texts, drawn as Markdown or HTML (`**x**` cells bold).
    struct Table {
        var header: [String]
        var rows: [[String]]

        var markdown: String {
            (["| " + header.joined(separator: " | ") + " |", "| --- |" + String(repeating: " ---: |", count: header.count - 1)]
                + rows.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n")
        }

        var html: String {
            func cell(_ text: String, _ tag: String) -> String {
                text.hasPrefix("**") && text.hasSuffix("**") && text.count > 4
                    ? "<\(tag)><b>\(LineChart.escape(String(text.dropFirst(2).dropLast(2))))</b></\(tag)>"
                    : "<\(tag)>\(LineChart.escape(text))</\(tag)>"
            }
            return "<table><tr>" + header.map { cell($0, "th") }.joined() + "</tr>\n"
                + rows.map { "<tr>" + $0.map { cell($0, "td") }.joined() + "</tr>\n" }.joined() + "</table>\n"
        }
    }

    /// The mean over draws with its 95 % percentile bootstrap interval (``PairedComparison/bootstrap(_:resamples:seed:)``
    /// seeded with the size's ``StudySummary/bootstrapSeed(size:)``) as `0.153 [0.150, 0.156]`;
    /// the mean alone for one draw. `digits` decimals.
    static func meanWithInterval(_ values: [Double], seed: UInt64, digits: Int = 3) -> String {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return "–" }
        func f(_ x: Double) -> String { String(format: "%.\(digits)f", x) }
        let mean = finite.reduce(0, +) / Double(finite.count)
        guard finite.count > 1 else { return f(mean) }
        let interval = PairedComparison.bootstrap(finite, seed: seed)
        return "\(f(mean)) [\(f(interval.lower)), \(f(interval.upper))]"
    }

    /// What the main table's numbers are, in one sentence.
    static let mainTableLegend = "Mean pixelwise coverage error CE₂₀ over the test set (lower is better), averaged over the seeded draws of the calibration set; the column header says how many draws each cell has. [a, b] is the 95 % percentile bootstrap interval of that mean over the draws (9 999 resamples, seeded with the study's seed + the size); it reflects the calibration draws, the test set being the same for all. Lowest mean per size in bold (a point estimate: the calls below decide)."

    /// The main table: mean pixelwise CE by strategy × calibration size with its interval over draws.
    static func mainTable(_ summary: StudySummary) -> Table {
        let sizes = summary.calibrationSizes
        let best = summary.verdict.bestBySize
        let header = ["strategy"] + sizes.map { size -> String in
            let draws = summary.strategies.compactMap { summary.cell($0, size)?.meanPixelCE.count }.max() ?? 0
            return "\(size) images, \(draws) draw\(draws == 1 ? "" : "s")"
        }
        let rows = summary.strategies.map { strategy in
            [strategy] + sizes.map { size -> String in
                guard let cell = summary.cell(strategy, size) else { return "–" }
                let text = meanWithInterval(cell.meanPixelCE, seed: summary.bootstrapSeed(size: size))
                return best.first { $0.size == size }?.strategy == strategy ? "**\(text)**" : text
            }
        }
        return Table(header: header, rows: rows)
    }

    /// The main table as Markdown (see ``mainTableLegend``).
    public static func markdownTable(_ summary: StudySummary) -> String { mainTable(summary).markdown }

    /// What the comparison table's numbers are.
    static let comparisonLegend = "Mean over draws of CE(A) − CE(B), both calibrated on the same draw (negative: A has the lower coverage error), with its 95 % percentile bootstrap interval over the draws (9 999 resamples, seed = study seed + size). A beats B when the whole interval is below 0, B beats A when it is above 0, otherwise a tie."

    /// The paired differences and their calls, one row per size × pair.
    static func comparisonTable(_ summary: StudySummary) -> Table {
        Table(header: ["size", "A", "B", "draws", "CE(A) − CE(B)", "95 % interval", "call"],
              rows: summary.comparisons.map { c in
                  let interval = c.lower.flatMap { lower in c.upper.map { "[\(String(format: "%+.3f", lower)), \(String(format: "%+.3f", $0))]" } } ?? "–"
                  let call: String = switch c.call {
                  case .beats: "\(c.strategy) beats \(c.baseline)"
                  case .loses: "\(c.baseline) beats \(c.strategy)"
                  case .tie: "tie"
                  }
                  return [String(c.calibrationImages), c.strategy, c.baseline, String(c.draws),
                          String(format: "%+.3f", c.meanDifference), interval, call]
              })
    }

    /// What the prediction-set table's numbers are.
    static func setsLegend(_ summary: StudySummary) -> String {
        "Prediction sets of the evaluated class on the test set, thresholds as `predict-sets` reads them. Per-image coverage: the mean over test images with targets of the class of the covered fraction of their target pixels (what the conformal rule guarantees to be at least 1 − α), averaged over the draws, with its 95 % percentile bootstrap interval over the draws; \"short\" (column \"below 1 − α\") marks a cell whose interval lies entirely below 1 − α (no flag without distinct draws). Set size: mean number of classes in a pixel's set. Always in: share of the class's pixels whose threshold is +∞ (the class is in every set there). Computed with the groups set aside, so each number covers all pixels of the class."
    }

    /// Per-image coverage, set size and always-in share per α × strategy × size.
    static func setsTable(_ summary: StudySummary) -> Table {
        var rows: [[String]] = []
        let alphas = summary.cells.compactMap(\.sets).first.map { $0.map(\.alpha) } ?? []
        for alpha in alphas {
            for strategy in summary.strategies {
                for size in summary.calibrationSizes {
                    guard let cell = summary.cell(strategy, size), let audit = cell.sets?.first(where: { $0.alpha == alpha }) else { continue }
                    let seed = summary.bootstrapSeed(size: size)
                    let coverage = audit.perImageCoverage.filter(\.isFinite)
                    var short = ""
                    if coverage.count > 1, PairedComparison.bootstrap(coverage, seed: seed).upper < 1 - alpha { short = "short" }
                    if Set(coverage).count == 1 && coverage.count > 1 { short = "" }
                    let mean = { (values: [Double]) in values.isEmpty ? "–" : String(format: "%.2f", values.reduce(0, +) / Double(values.count)) }
                    let share = audit.alwaysInShare.isEmpty ? "–"
                        : String(format: "%.1f %%", 100 * audit.alwaysInShare.reduce(0, +) / Double(audit.alwaysInShare.count))
                    rows.append([String(format: "%g", alpha), String(format: "%.3f", 1 - alpha), strategy, String(size), String(coverage.count),
                                 meanWithInterval(coverage, seed: seed), short, mean(audit.meanSetSize), share])
                }
            }
        }
        return Table(header: ["α", "1 − α", "strategy", "size", "draws", "per-image coverage", "below 1 − α", "set size", "always in"], rows: rows)
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
        text += "## Mean pixelwise coverage error\n\n" + Self.mainTableLegend + "\n\n"
        text += Self.markdownTable(summary) + "\n\n"
        text += "## Paired differences and calls\n\n" + Self.comparisonLegend + "\n\n" + Self.comparisonTable(summary).markdown + "\n\n"
        let sets = Self.setsTable(summary)
        if !sets.rows.isEmpty { text += "## Prediction sets\n\n" + Self.setsLegend(summary) + "\n\n" + sets.markdown + "\n\n" }
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
                text += "![\(figure.title)](\(name))\n\n*\(figure.title)*\n\n"
            case .png(let name):
                text += "![\(figure.title)](\(name))\n\n*\(figure.title)*\n\n"
            case .panels(_, let markdown):
                text += markdown + "\n\n"
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
        body += "<h2>Mean pixelwise coverage error</h2>\n<p>\(escape(Self.mainTableLegend))</p>\n" + Self.mainTable(summary).html
        body += "<h2>Paired differences and calls</h2>\n<p>\(escape(Self.comparisonLegend))</p>\n" + Self.comparisonTable(summary).html
        let sets = Self.setsTable(summary)
        if !sets.rows.isEmpty { body += "<h2>Prediction sets</h2>\n<p>\(escape(Self.setsLegend(summary)))</p>\n" + sets.html }
        var section = ""
        for figure in figures {
            if figure.section != section {
                if !section.isEmpty { body += "</div>\n" }
                section = figure.section
                body += "<h2>\(escape(section))</h2>\n<div class=\"grid\">\n"
            }
            body += "<figure>"
            switch figure.content {
            case .svg(let svg), .panels(let svg, _):
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
        figure { margin: 0; display: table; } figcaption { display: table-caption; caption-side: bottom; font-size: 0.9em; color: #555; }
        img { image-rendering: pixelated; max-width: 560px; }
        </style></head><body>
        \(body)
        </body></html>

        """
    }
}

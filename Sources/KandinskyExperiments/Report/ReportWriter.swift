import Foundation
import KandinskyCore
import KandinskyPlots

/// A figure of the report: an SVG drawn in memory or a PNG file in the report's folder, made
/// with the memberwise initialiser `ReportFigure(section:title:content:)` (only this module
/// makes figures).
package struct ReportFigure: Sendable {
    /// The figure's image.
    package enum Content: Sendable {
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
    package var section: String
    /// The caption.
    package var title: String
    /// The image.
    package var content: Content
}

/// Writes `report.html` (self-contained: SVG inline, PNGs as data URIs), `report.md` and
/// `summary.json` from a ``StudySummary`` and its figures.
package struct ReportWriter {
    /// Where the report files are written.
    package let directory: URL

    /// A writer into `directory`.
    package init(directory: URL) {
        self.directory = directory
    }

    /// A table as header and rows of cell texts, drawn as Markdown or HTML (`**x**` cells bold).
    struct Table {
        var header: [String]
        var rows: [[String]]

        var markdown: String {
            ([
                "| " + header.joined(separator: " | ") + " |",
                "| --- |" + String(repeating: " ---: |", count: header.count - 1),
            ]
                + rows.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n")
        }

        var html: String {
            func cell(_ text: String, _ tag: String) -> String {
                text.hasPrefix("**") && text.hasSuffix("**") && text.count > 4
                    ? "<\(tag)><b>\(SVG.escape(String(text.dropFirst(2).dropLast(2))))</b></\(tag)>"
                    : "<\(tag)>\(SVG.escape(text))</\(tag)>"
            }
            return "<table><tr>" + header.map { cell($0, "th") }.joined() + "</tr>\n"
                + rows.map { "<tr>" + $0.map { cell($0, "td") }.joined() + "</tr>\n" }.joined() + "</table>\n"
        }
    }

    /// The mean over draws with its 95 % percentile bootstrap interval
    /// (``PairedComparison/bootstrap(_:resamples:seed:)``
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

    /// The definition of the coverage errors, with K the summary's confidence bins.
    static func coverageErrorDefinition(_ summary: StudySummary) -> String {
        let k = summary.coverageBins
        return
            "CE\(subscriptDigits(k)) is the original's metric: at K = \(k) nominal confidences γ_i = (i + 0.5)/\(k), i = 0 … \(k - 1), a test pixel whose true class is the evaluated class is covered when its score 1 − p is at most the calibrated threshold at γ_i (read as the prediction sets read it); the coverage ĉ_i(h, w) of location (h, w) is the fraction of the test images' target pixels there that are covered, and CE(h, w) = (1/\(k)) Σ_i |ĉ_i(h, w) − γ_i|. The mean pixelwise CE averages CE(h, w) over the locations with at least one test target pixel; the marginal CE is the same formula with ĉ_i pooled over all test target pixels (a calibration can have a small marginal CE and still miss whole regions, which only the pixelwise CE shows)."
    }

    /// What the main table's numbers are.
    static func mainTableLegend(_ summary: StudySummary) -> String {
        "Mean pixelwise coverage error CE\(subscriptDigits(summary.coverageBins)) over the test set (lower is better), averaged over the seeded draws of the calibration set; the column header says how many draws each cell has. [a, b] is the 95 % percentile bootstrap interval of that mean over the draws (9 999 resamples, seeded with the study's seed + the size); it reflects the calibration draws, the test set being the same for all. Lowest mean per size in bold (a point estimate: the calls below decide). "
            + coverageErrorDefinition(summary)
    }

    /// K as subscript digits: 20 → ₂₀.
    static func subscriptDigits(_ k: Int) -> String {
        String(String(k).map { Character(UnicodeScalar(0x2080 + UInt32($0.wholeNumberValue!))!) })
    }

    /// The main table: mean pixelwise CE by strategy × calibration size with its interval over draws.
    static func mainTable(_ summary: StudySummary) -> Table {
        coverageErrorTable(summary, \.meanPixelCE, best: summary.verdict.bestBySize)
    }

    /// The marginal CE by strategy × size, as the main table (no bold: the calls are about the pixelwise CE).
    static func marginalTable(_ summary: StudySummary) -> Table {
        coverageErrorTable(summary, \.marginalCE, best: [])
    }

    /// A CE per draw (`values`) by strategy × size, mean with interval, `best` in bold.
    static func coverageErrorTable(
        _ summary: StudySummary, _ values: KeyPath<StudySummary.Cell, [Double]>,
        best: [(size: Int, strategy: String, ce: Double)]
    ) -> Table {
        let sizes = summary.calibrationSizes
        let header =
            ["strategy"]
            + sizes.map { size -> String in
                let draws = summary.strategies.compactMap { summary.cell($0, size)?.meanPixelCE.count }.max() ?? 0
                return "\(size) images, \(draws) draw\(draws == 1 ? "" : "s")"
            }
        let rows = summary.strategies.map { strategy in
            [strategy]
                + sizes.map { size -> String in
                    guard let cell = summary.cell(strategy, size) else { return "–" }
                    let text = meanWithInterval(cell[keyPath: values], seed: summary.bootstrapSeed(size: size))
                    return best.first { $0.size == size }?.strategy == strategy ? "**\(text)**" : text
                }
        }
        return Table(header: header, rows: rows)
    }

    /// The main table as Markdown (see `mainTableLegend`).
    package static func markdownTable(_ summary: StudySummary) -> String { mainTable(summary).markdown }

    /// What the comparison table's numbers are.
    static func comparisonLegend(_ summary: StudySummary) -> String {
        let margin = summary.tieMargin ?? 0
        let rule =
            margin > 0
            ? "A beats B when the whole interval lies below −\(format3(margin)), B beats A when it lies above +\(format3(margin)), otherwise a tie: δ = \(format3(margin)) is the tie margin (`pipeline.tie_margin`), so a difference smaller than δ is a tie however many draws there are. The intervals cover the calibration draws, not the network: a network trained on another machine or with another thread count differs at rounding level and moves paired differences by a few thousandths, which the margin absorbs."
            : "A beats B when the whole interval is below 0, B beats A when it is above 0, otherwise a tie."
        return
            "Mean over draws of CE(A) − CE(B), both calibrated on the same draw (negative: A has the lower coverage error), with its 95 % percentile bootstrap interval over the draws (9 999 resamples, seed = study seed + size). "
            + rule
    }

    /// The paired differences and their calls, one row per size × pair.
    static func comparisonTable(_ summary: StudySummary) -> Table {
        Table(
            header: ["size", "A", "B", "draws", "CE(A) − CE(B)", "95 % interval", "call"],
            rows: summary.comparisons.map { c in
                let interval =
                    c.lower.flatMap { lower in
                        c.upper.map { "[\(String(format: "%+.3f", lower)), \(String(format: "%+.3f", $0))]" }
                    } ?? "–"
                let call: String =
                    switch c.call {
                    case .beats: "\(c.strategy) beats \(c.baseline)"
                    case .loses: "\(c.baseline) beats \(c.strategy)"
                    case .tie: "tie"
                    }
                return [
                    String(c.calibrationImages), c.strategy, c.baseline, String(c.draws),
                    String(format: "%+.3f", c.meanDifference), interval, call,
                ]
            })
    }

    /// What the prediction-set table's numbers are.
    static func setsLegend(_ summary: StudySummary) -> String {
        "Prediction sets of the evaluated class on the test set, thresholds as `predict-sets` reads them. Per-image coverage: the mean over test images with targets of the class of the covered fraction of their target pixels (what the conformal rule guarantees to be at least 1 − α), averaged over the draws, with its 95 % percentile bootstrap interval over the draws; \"short\" marks a coverage whose interval lies entirely below 1 − α (no flag without distinct draws). Set size: mean number of classes in a pixel's set. Always in: share of the class's pixels whose threshold is +∞ (the class is in every set there). Computed with the groups set aside, so each number covers all pixels of the class. The intervals and flags cover the calibration draws only: the test set is the same for every draw, and its own sampling error (the spread of per-image coverage over its \(summary.testImages) images) is not in them, so a \"short\" flag on a mean close to 1 − α is not by itself evidence against the guarantee (`kandinsky eval` audits one calibration with Student t intervals over the test images)."
    }

    /// Per-image coverage, set size and always-in share per α × strategy × size.
    static func setsTable(_ summary: StudySummary) -> Table {
        var rows: [[String]] = []
        let alphas = summary.cells.compactMap(\.sets).first.map { $0.map(\.alpha) } ?? []
        for strategy in summary.strategies {
            for size in summary.calibrationSizes {
                guard let cell = summary.cell(strategy, size), let sets = cell.sets else { continue }
                let seed = summary.bootstrapSeed(size: size)
                var row = [strategy, String(size), String(cell.meanPixelCE.count)]
                for alpha in alphas {
                    guard let audit = sets.first(where: { $0.alpha == alpha }) else {
                        row += ["–", "–", "–"]
                        continue
                    }
                    row.append(coverage(audit.perImageCoverage, alpha: alpha, seed: seed))
                    row.append(mean(audit.meanSetSize))
                    row.append(percent(audit.alwaysInShare, format: "%.1f %%") ?? "–")
                }
                rows.append(row)
            }
        }
        let header =
            ["strategy", "size", "draws"]
            + alphas.flatMap { alpha in
                let level = String(format: "α = %g", alpha)
                return [
                    "coverage, \(level) (1 − α = \(String(format: "%.3g", 1 - alpha)))", "set size, \(level)",
                    "always in, \(level)",
                ]
            }
        return Table(header: header, rows: rows)
    }

    /// A "short" flag for per-draw coverages at α: the bootstrap interval (seeded `seed`) lies
    /// entirely below 1 − α; empty with fewer than two distinct values.
    static func shortfallFlag(_ coverage: [Double], alpha: Double, seed: UInt64) -> String {
        let finite = coverage.filter(\.isFinite)
        guard Set(finite).count > 1 else { return "" }
        return PairedComparison.bootstrap(finite, seed: seed).upper < 1 - alpha ? "short" : ""
    }

    /// Per-draw coverages as their mean with its interval (``meanWithInterval(_:seed:digits:)``),
    /// then `note`, then ` short` when ``shortfallFlag(_:alpha:seed:)`` flags them.
    static func coverage(_ values: [Double], alpha: Double, seed: UInt64, note: String = "") -> String {
        let flag = shortfallFlag(values, alpha: alpha, seed: seed)
        return meanWithInterval(values, seed: seed) + note + (flag.isEmpty ? "" : " " + flag)
    }

    /// 100 × the mean of the finite fractions, written with `format` (`"%.1f %%"`); nil when
    /// there are none.
    static func percent(_ fractions: [Double], format: String) -> String? {
        let finite = fractions.filter(\.isFinite)
        return finite.isEmpty ? nil : String(format: format, 100 * finite.reduce(0, +) / Double(finite.count))
    }

    /// The mean of the finite values to `digits` decimals, `–` when there are none.
    static func mean(_ values: [Double], digits: Int = 2) -> String {
        let finite = values.filter(\.isFinite)
        return finite.isEmpty ? "–" : String(format: "%.\(digits)f", finite.reduce(0, +) / Double(finite.count))
    }

    /// What the rule table's numbers are.
    static let ruleLegend =
        "The same strategies on the same draws under the original's linear rule (numpy's linear quantile of each pool, NaN where a pool is empty; groups and thresholds from all images) beside the study's conformal rule (the finite-sample quantile, +∞ where a pool is too small; kmeans/gen-ann groups from half of the images, thresholds from the rest). Mean pixelwise CE and per-image coverage with their 95 % bootstrap intervals over the draws; \"short\" marks a per-image coverage whose interval lies entirely below 1 − α. A lower CE under linear with coverage short of 1 − α is the undercoverage the conformal rule removes."

    /// Conformal against linear per strategy × linear size × α.
    static func ruleTable(_ summary: StudySummary) -> Table {
        var rows: [[String]] = []
        for linear in summary.linearCells ?? [] {
            guard let conformal = summary.cell(linear.strategy, linear.calibrationImages) else { continue }
            let seed = summary.bootstrapSeed(size: linear.calibrationImages)
            for audit in conformal.sets ?? [] {
                guard let linearAudit = linear.sets?.first(where: { $0.alpha == audit.alpha }) else { continue }
                rows.append([
                    linear.strategy, String(linear.calibrationImages), String(linear.meanPixelCE.count),
                    meanWithInterval(conformal.meanPixelCE, seed: seed),
                    meanWithInterval(linear.meanPixelCE, seed: seed),
                    String(format: "%g", audit.alpha), coverage(audit.perImageCoverage, alpha: audit.alpha, seed: seed),
                    coverage(linearAudit.perImageCoverage, alpha: audit.alpha, seed: seed),
                    mean(audit.meanSetSize), mean(linearAudit.meanSetSize),
                ])
            }
        }
        return Table(
            header: [
                "strategy", "size", "draws", "CE conformal", "CE linear", "α", "per-image coverage conformal",
                "per-image coverage linear", "set size conformal", "set size linear",
            ], rows: rows)
    }

    /// What the per-group table's numbers are.
    static let groupLegend =
        "Per-image coverage of the evaluated class within each group of the Kandinsky strategies (the pools whose thresholds the conformal rule sets, so each is guaranteed 1 − α on average over calibration draws), mean over draws with its 95 % bootstrap interval, and the group's mean share of the image in parentheses. gen-ann's groups are the disc (0), the two rings (1, 2) and the outside (3) in every draw; k-means labels its clusters anew in each draw, and its last group (k) holds the pixels that had no score to cluster. \"lowest\" is the mean over draws of the lowest group's coverage in that draw (a minimum over groups, so biased low by construction); \"short\" marks an interval entirely below 1 − α. As in the prediction-set table, the intervals cover the calibration draws, not the fixed test set's own sampling error, which is larger within a small group."

    /// Per-group per-image coverage per grouped strategy × size × α.
    static func groupTable(_ summary: StudySummary) -> Table {
        let cells = summary.cells.filter { $0.groupSets?.isEmpty == false }
        let groupCount = (cells.flatMap { $0.groupSets ?? [] }.map(\.group).max() ?? -1) + 1
        var rows: [[String]] = []
        for strategy in summary.strategies {
            for cell in cells where cell.strategy == strategy {
                let seed = summary.bootstrapSeed(size: cell.calibrationImages)
                let groups = cell.groupSets ?? []
                for alpha in (cell.sets ?? []).map(\.alpha) {
                    let atAlpha = groups.filter { $0.alpha == alpha }
                    var row = [
                        strategy, String(cell.calibrationImages), String(cell.meanPixelCE.count),
                        String(format: "%g", alpha),
                    ]
                    for g in 0..<groupCount {
                        guard let audit = atAlpha.first(where: { $0.group == g }) else {
                            row.append("–")
                            continue
                        }
                        row.append(
                            coverage(
                                audit.perImageCoverage.compactMap { $0 }, alpha: alpha, seed: seed,
                                note: percent(audit.pixelShare.compactMap { $0 }, format: " (%.0f %%)") ?? ""))
                    }
                    let lowest = (0..<cell.meanPixelCE.count).map { draw in
                        atAlpha.compactMap {
                            $0.perImageCoverage.indices.contains(draw) ? $0.perImageCoverage[draw] : nil
                        }.min() ?? .nan
                    }
                    row.append(coverage(lowest, alpha: alpha, seed: seed))
                    rows.append(row)
                }
            }
        }
        return Table(
            header: ["strategy", "size", "draws", "α"] + (0..<groupCount).map { "group \($0)" } + ["lowest"], rows: rows
        )
    }

    /// The report's tables in order: title, legend, table; tables without rows are left out.
    static func tables(_ summary: StudySummary) -> [(title: String, legend: String, table: Table)] {
        [
            ("Mean pixelwise coverage error", mainTableLegend(summary), mainTable(summary)),
            (
                "Marginal coverage error",
                "Marginal CE\(subscriptDigits(summary.coverageBins)) (coverage pooled over all test target pixels; see the definition above), mean over draws with its 95 % bootstrap interval.",
                marginalTable(summary)
            ),
            ("Paired differences and calls", comparisonLegend(summary), comparisonTable(summary)),
            ("Prediction sets", setsLegend(summary), setsTable(summary)),
            ("Coverage within the Kandinsky groups", groupLegend, groupTable(summary)),
            ("What the conformal rule changes", ruleLegend, ruleTable(summary)),
        ]
        .filter { !$0.2.rows.isEmpty }
    }

    /// Where the kept calibrated models are and how to use one, nil when none were kept.
    static func keptModelsParagraph(_ summary: StudySummary) -> String? {
        guard let models = summary.calibratedModels, let first = models.first else { return nil }
        return
            "The calibrated model of every strategy at the smallest and largest size (draw 1) is kept beside this report: "
            + models.joined(separator: ", ")
            + ". Each holds the network and its curves; for example `kandinsky predict ckpt_path=<this folder>/\(first) image=photo.jpg alpha=0.1` writes the prediction sets of one image, and `kandinsky predict-sets` those of a probability array."
    }

    /// The CE-against-size chart.
    package static func coverageErrorChart(_ summary: StudySummary) -> LineChart {
        LineChart(
            title: "Mean pixelwise coverage error against calibration-set size",
            xLabel: "calibration images", yLabel: "mean pixelwise CE",
            series: summary.strategies.map { strategy in
                let cells = summary.calibrationSizes.compactMap { summary.cell(strategy, $0) }
                return LineChart.Series(
                    name: strategy,
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
    package func write(summary: StudySummary, figures: [ReportFigure], title: String) throws {
        let figures = Self.groupedBySection(figures)
        let json: Data
        do { json = try JSONOutput.encode(summary, .pretty) } catch {
            throw ExperimentError("cannot encode the summary: \(error)", kind: .cannotWrite, underlying: error)
        }
        try write(json, "summary.json")
        try write(Data(markdown(summary: summary, figures: figures, title: title).utf8), "report.md")
        try write(Data(html(summary: summary, figures: figures, title: title).utf8), "report.html")
    }

    private func write(_ data: Data, _ name: String) throws {
        try ExperimentError.writeAtomically(data, to: directory.appendingPathComponent(name))
    }

    private func timingLines(_ summary: StudySummary) -> [String] {
        summary.stageOrder.map { stage in String(format: "%@: %.1f s", stage, summary.stageSeconds[stage] ?? 0) }
    }

    /// The built-in synthetic scenarios: the `data=` name, what its scenes are, and the paper's
    /// dataset each imitates.
    static let scenarios = [
        ("synthetic", "person-like scenes", "MS-COCO person"),
        ("synthetic-anatomy", "anatomy-like slices", "the Medical Decathlon pancreas"),
    ]

    /// The report's first line: the data, the test set, the seed, the metric and the rule; for a
    /// built-in scenario, what it imitates and the command that runs the study on the other one.
    static func datasetLine(_ summary: StudySummary) -> String {
        var line =
            "Dataset: \(summary.dataset), images \(summary.imageSize.map(String.init).joined(separator: " × ")), \(summary.testImages) test images, seed \(summary.seed), CE over \(summary.coverageBins) confidence bins\(summary.thresholds.map { "; thresholds: \($0)" } ?? "")."
        if let scenario = scenarios.first(where: { $0.0 == summary.dataset }) {
            line += " These are the built-in \(scenario.1) (imitating \(scenario.2))."
            for other in scenarios where other.0 != scenario.0 {
                line +=
                    " The study on the \(other.1) (imitating \(other.2)): `kandinsky pipeline data=\(other.0)`, report in logs/pipeline/\(other.0)/."
            }
        }
        return line
    }

    func markdown(summary: StudySummary, figures: [ReportFigure], title: String) -> String {
        var text = "# \(title)\n\n"
        text += Self.datasetLine(summary) + "\n\n"
        text +=
            "## Does the paper's claim hold here?\n\n"
            + summary.verdict.sentences.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        for (title, legend, table) in Self.tables(summary) {
            text += "## \(title)\n\n\(legend)\n\n\(table.markdown)\n\n"
        }
        text += Self.keptModelsParagraph(summary).map { "## Calibrated models\n\n\($0)\n\n" } ?? ""
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
        func escape(_ s: String) -> String { SVG.escape(s) }
        var body = "<h1>\(escape(title))</h1>\n"
        body += "<p>\(escape(Self.datasetLine(summary)))</p>\n"
        body +=
            "<h2>Does the paper's claim hold here?</h2>\n<ul>"
            + summary.verdict.sentences.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        for (title, legend, table) in Self.tables(summary) {
            body += "<h2>\(escape(title))</h2>\n<p>\(escape(legend))</p>\n" + table.html
        }
        body += Self.keptModelsParagraph(summary).map { "<h2>Calibrated models</h2>\n<p>\(escape($0))</p>\n" } ?? ""
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
                body +=
                    "<img src=\"data:image/png;base64,\(data.base64EncodedString())\" alt=\"\(escape(figure.title))\"/>"
            }
            body += "<figcaption>\(escape(figure.title))</figcaption></figure>\n"
        }
        if !section.isEmpty { body += "</div>\n" }
        body +=
            "<h2>Time per stage</h2>\n<ul>" + timingLines(summary).map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
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

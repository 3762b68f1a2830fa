import Foundation
import KandinskyPlots

/// The report's charts of the prediction-set audit, drawn from a ``StudySummary`` alone (its
/// cells' ``StudySummary/SetAudit``s, one value per draw):
///
/// - per-image coverage of the evaluated class against α, one line per strategy, at the smallest
///   and at the middle calibration-set size, with the target 1 − α dashed;
/// - mean set size against the calibration-set size (log x), one line per strategy, one chart
///   per α.
///
/// Every point is the mean over a cell's draws of the finite values, its bar the 95 % percentile
/// bootstrap interval of that mean (``PairedComparison/bootstrap(_:resamples:seed:)`` seeded with
/// ``StudySummary/bootstrapSeed(size:)``, as the tables' intervals); one draw, or draws that all
/// agree, give no bar. Cells without an audit (`sets == nil`, summaries written before it) or
/// with only NaN values give no point; a strategy without any point stays in the legend as
/// "(no data)". Charts of one kind share their y range, so they compare side by side.
enum StudyCharts {
    /// The mean of the finite `values` and the 95 % bootstrap interval of that mean (nil unless
    /// two finite values differ: equal draws are one calibration repeated, as
    /// ``PairedComparison`` treats them); nil without any finite value.
    static func meanWithInterval(_ values: [Double], seed: UInt64) -> (
        mean: Double, interval: (lower: Double, upper: Double)?
    )? {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return nil }
        let mean = finite.reduce(0, +) / Double(finite.count)
        return (mean, Set(finite).count > 1 ? PairedComparison.bootstrap(finite, seed: seed) : nil)
    }

    /// Every α audited in any cell, ascending.
    static func alphas(_ summary: StudySummary) -> [Double] {
        Set(summary.cells.flatMap { $0.sets?.map(\.alpha) ?? [] }).filter(\.isFinite).sorted()
    }

    /// The sizes of the coverage charts: the smallest and the middle one (index ⌊S/2⌋ of the S
    /// ascending sizes), which has draws that differ where the largest may be the whole split.
    static func coverageSizes(_ summary: StudySummary) -> [Int] {
        let sizes = summary.calibrationSizes
        guard let first = sizes.first else { return [] }
        let middle = sizes[sizes.count / 2]
        return middle == first ? [first] : [first, middle]
    }

    /// One point per α of `strategy` at `size`: the mean of `value` over the draws, with its interval.
    private static func series(
        _ summary: StudySummary, strategy: String, size: Int, alphas: [Double],
        value: KeyPath<StudySummary.SetAudit, [Double]>
    ) -> [(x: Double, mean: Double, interval: (lower: Double, upper: Double)?)] {
        guard let audits = summary.cell(strategy, size)?.sets else { return [] }
        return alphas.compactMap { alpha in
            guard let audit = audits.first(where: { $0.alpha == alpha }),
                let point = meanWithInterval(audit[keyPath: value], seed: summary.bootstrapSeed(size: size))
            else { return nil }
            return (alpha, point.mean, point.interval)
        }
    }

    private static func line(
        _ name: String, _ points: [(x: Double, mean: Double, interval: (lower: Double, upper: Double)?)]
    ) -> LineChart.Series {
        LineChart.Series(
            name: points.isEmpty ? "\(name) (no data)" : name, points: points.map { ($0.x, $0.mean) },
            intervals: points.map(\.interval))
    }

    /// `charts` with one y range, the union of theirs with 5 % to spare.
    private static func sharingY(_ charts: [LineChart]) -> [LineChart] {
        let extents = charts.compactMap(\.yExtent)
        guard let low = extents.map(\.lowerBound).min(), let high = extents.map(\.upperBound).max() else {
            return charts
        }
        let pad = max(0.05 * (high - low), 0.01)
        return charts.map { chart in
            var chart = chart
            chart.yDomain = (low - pad)...(high + pad)
            return chart
        }
    }

    /// Per-image coverage against α at each of ``coverageSizes(_:)``; none without any α audited.
    static func coverageAgainstAlpha(_ summary: StudySummary) -> [LineChart] {
        let alphas = alphas(summary)
        guard let largest = alphas.last else { return [] }
        let domain = 0...(largest * 1.15)
        let charts = coverageSizes(summary).map { size in
            var series = summary.strategies.map { strategy in
                line(
                    strategy,
                    Self.series(summary, strategy: strategy, size: size, alphas: alphas, value: \.perImageCoverage))
            }
            series.append(
                LineChart.Series(
                    name: "target 1 − α", points: [domain.lowerBound, domain.upperBound].map { ($0, 1 - $0) },
                    intervals: [], style: .reference))
            var chart = LineChart(
                title: "Per-image coverage against α, \(size) calibration images",
                xLabel: "α (miscoverage level)", yLabel: "per-image coverage (fraction)", series: series)
            chart.xDomain = domain
            chart.xTicks = [0] + alphas
            chart.dodge = 6
            return chart
        }
        return sharingY(charts)
    }

    /// Mean set size against the calibration-set size, one chart per α audited.
    static func setSizeAgainstSize(_ summary: StudySummary) -> [LineChart] {
        let sizes = summary.calibrationSizes
        let charts = alphas(summary).map { alpha in
            let series = summary.strategies.map { strategy in
                line(
                    strategy,
                    sizes.compactMap { size in
                        Self.series(summary, strategy: strategy, size: size, alphas: [alpha], value: \.meanSetSize)
                            .first
                            .map { (Double(size), $0.mean, $0.interval) }
                    })
            }
            var chart = LineChart(
                title: "Mean set size at α = \(LineChart.label(alpha))", xLabel: "calibration images (log scale)",
                yLabel: "mean set size (classes per pixel)", series: series, logarithmicX: true)
            chart.dodge = 6
            return chart
        }
        return sharingY(charts)
    }

    /// The draws behind a size's points: the most finite values of any strategy's audit there.
    private static func draws(_ summary: StudySummary, size: Int, value: KeyPath<StudySummary.SetAudit, [Double]>)
        -> Int
    {
        summary.strategies.compactMap { summary.cell($0, size)?.sets }.flatMap { $0 }
            .map { $0[keyPath: value].filter(\.isFinite).count }.max() ?? 0
    }

    /// The two kinds of chart as report figures with their captions.
    static func figures(_ summary: StudySummary) -> [ReportFigure] {
        let bars =
            "bars: the 95 % percentile bootstrap interval of the mean over the draws (none for one draw or draws that agree); the strategies are set slightly apart sideways so their bars do not hide each other"
        let coverage = zip(coverageSizes(summary), coverageAgainstAlpha(summary)).map { size, chart in
            let draws = draws(summary, size: size, value: \.perImageCoverage)
            return ReportFigure(
                section: "Prediction-set coverage against α",
                title:
                    "\(size) calibration images, \(draws) draw\(draws == 1 ? "" : "s"): per-image coverage of the evaluated class on the test set (the mean over test images with targets of the covered share of their target pixels) at each α audited, mean over the draws; \(bars). Dashed: the target 1 − α, which the conformal rule guarantees in expectation.",
                content: .svg(chart.svg))
        }
        let sizes = zip(alphas(summary), setSizeAgainstSize(summary)).map { alpha, chart in
            ReportFigure(
                section: "Prediction-set size against calibration-set size",
                title:
                    "α = \(LineChart.label(alpha)): mean number of classes in a pixel's prediction set on the test set, mean over the draws at each size; \(bars).",
                content: .svg(chart.svg))
        }
        return coverage + sizes
    }
}

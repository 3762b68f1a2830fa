import Foundation
import KandinskyCalibration
import KandinskyCore

extension Pipeline {
    /// Calibrates and evaluates the cells of the study: one strategy under one rule at one
    /// calibration-set size, over its seeded draws.
    ///
    /// Draw j of size n calibrates on `seededSubset(count: n, of: N, seed: drawSeed(size: n, draw: j, seed:))`
    /// of the N calibration outputs, whatever the strategy or rule, so every cell of a size is
    /// paired with every other. Each draw is evaluated on the whole test split: the coverage
    /// error (``CoverageEvaluation``) and the prediction-set audit (``CoverageAudit``) of the
    /// evaluated class, over all its pixels and, when the class is grouped, per group.
    struct CellRunner {
        let calibrationOutputs: NetworkOutputs
        let testOutputs: NetworkOutputs
        /// The study's seed.
        let seed: UInt64
        let coverage: CoverageEvaluation
        let audit: CoverageAudit
        /// The evaluated class.
        let classIndex: Int
        let progress: ProgressReporter

        /// The cell of `specification` (its strategy and rule) at `size` over `draws` draws;
        /// `onDraw(draw, drawSeed, curves, result)` sees every draw's calibration, for figures.
        /// Stage times go to `clock`: `calibrate <strategy>` (`… (linear)` for the linear rule),
        /// `evaluate`, `audit prediction sets`.
        func cell(
            _ specification: CalibrationSettings, size: Int, draws: Int, clock: inout StageClock,
            onDraw: (Int, UInt64, CalibratedCurves, CoverageEvaluation.Result) throws -> Void
        ) throws -> StudySummary.Cell {
            let strategy = specification.grouping.method.rawValue
            let linear = specification.rule == .linear
            var cell = StudySummary.Cell(
                strategy: strategy, calibrationImages: size, meanPixelCE: [], marginalCE: [], seconds: [],
                drawSeeds: [], sets: audit.alphas.map { StudySummary.SetAudit(alpha: $0) })
            for draw in 0..<draws {
                let drawSeed = Pipeline.drawSeed(size: size, draw: draw, seed: seed)
                let indices = seededSubset(count: size, of: calibrationOutputs.count, seed: drawSeed)
                let started = Date()
                let curves = try CalibrationRun.calibrate(calibrationOutputs.subset(indices), settings: specification)
                let seconds = Date().timeIntervalSince(started)
                let result = try ExperimentError.wrapping {
                    try coverage.evaluate(
                        curves, probabilities: testOutputs.probabilities, targets: testOutputs.targets)
                }
                let evaluated = Date()
                try auditSets(curves, draw: draw, into: &cell)
                clock.add("calibrate \(strategy)\(linear ? " (linear)" : "")", seconds)
                clock.add("evaluate", evaluated.timeIntervalSince(started) - seconds)
                clock.add("audit prediction sets", Date().timeIntervalSince(evaluated))
                cell.meanPixelCE.append(result.meanPixelwiseCalibrationError)
                cell.marginalCE.append(result.marginalCalibrationError)
                cell.seconds.append(seconds)
                cell.drawSeeds?.append(drawSeed)
                try onDraw(draw, drawSeed, curves, result)
                progress.advance(
                    message: String(
                        format: "%@%@ n=%d draw %d: CE %.4f", strategy, linear ? " (linear)" : "", size, draw + 1,
                        result.meanPixelwiseCalibrationError))
            }
            return cell
        }

        /// Appends draw `draw`'s prediction-set audit of the evaluated class to `cell` (see
        /// ``StudySummary/SetAudit`` and ``StudySummary/GroupAudit``): one pass of `audit` (whose
        /// ``CoverageAudit/wholeClassRows`` is on) gives the row over all the class's pixels and,
        /// when the class is grouped, one row per group.
        func auditSets(_ curves: CalibratedCurves, draw: Int, into cell: inout StudySummary.Cell) throws {
            let result = try ExperimentError.wrapping {
                try audit.evaluate(curves, probabilities: testOutputs.probabilities, targets: testOutputs.targets)
            }
            let classWide = result.rows.filter { $0.classIndex == classIndex && $0.group == nil }
            // Imagewise calibration groups a class as one group: that row is the class-wide one.
            let grouped = classIndex < curves.classCount && curves.groups.groupCounts[classIndex] > 1
            let perGroup = grouped ? result.rows.filter { $0.classIndex == classIndex && $0.group != nil } : []
            if var sets = cell.sets {
                for index in sets.indices {
                    guard let row = classWide.first(where: { $0.alpha == sets[index].alpha }) else { continue }
                    sets[index].perImageCoverage.append(row.perImageCoverage)
                    sets[index].meanSetSize.append(row.meanSetSize)
                    sets[index].alwaysInShare.append(row.alwaysInShare)
                }
                cell.sets = sets
            }
            guard !perGroup.isEmpty else { return }
            let pixels = Double(curves.height * curves.width)
            var groups = cell.groupSets ?? []
            for row in perGroup {
                guard let group = row.group else { continue }
                let index =
                    groups.firstIndex { $0.alpha == row.alpha && $0.group == group }
                    ?? {
                        groups.append(StudySummary.GroupAudit(alpha: row.alpha, group: group))
                        return groups.count - 1
                    }()
                groups[index].pad(toDraws: draw)
                groups[index].append(
                    perImageCoverage: row.perImageCoverage, meanSetSize: row.meanSetSize,
                    pixelShare: Double(row.pixels) / pixels)
            }
            for index in groups.indices { groups[index].pad(toDraws: draw + 1) }
            cell.groupSets = groups
        }
    }
}

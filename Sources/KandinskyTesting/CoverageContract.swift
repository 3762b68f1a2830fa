import Foundation
import KandinskyCalibration
import KandinskyCore

/// What ``checkCoverageContract(_:simulation:rule:z:maximumStandardError:)`` measured: the
/// coverage table of a strategy on exchangeable scenes and every (n, α) where it fell short.
public struct CoverageContractReport: Sendable, CustomStringConvertible {
    /// One broken clause of the statistical contract.
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        /// Calibration threw.
        case threw(CalibrationError)
        /// The mean pool coverage at (n, α) is below 1 − α − z·SE: `shortfall` = 1 − α − mean.
        case undercovers(
            calibrationImages: Int, alpha: Double, poolCoverage: CoverageSimulation.Estimate,
            bound: Double, shortfall: Double)
        /// The standard error at (n, α) exceeds the maximum: the draws are too few for the
        /// check to see a shortfall of that size.
        case imprecise(calibrationImages: Int, alpha: Double, standardError: Double, maximum: Double)

        public var description: String {
            switch self {
            case .threw(let error):
                "calibration threw: \(error)"
            case .undercovers(let n, let alpha, let coverage, let bound, let shortfall):
                "n = \(n), α = \(alpha): pool coverage \(coverage) is below the bound "
                    + String(format: "%.3f (1 − α = %.3f, short by %.3f)", bound, 1 - alpha, shortfall)
            case .imprecise(let n, let alpha, let se, let maximum):
                "n = \(n), α = \(alpha): standard error " + String(format: "%.4f exceeds %.4f", se, maximum)
                    + "; use more draws or test images"
            }
        }
    }

    /// The strategy's `NonconformityGrouping.name`.
    public var grouping: String
    /// The rule the strategy was calibrated with.
    public var rule: QuantileRule
    /// The simulation that was run.
    public var simulation: CoverageSimulation
    /// Standard errors allowed below 1 − α.
    public var z: Double
    /// The largest standard error accepted, or nil.
    public var maximumStandardError: Double?
    /// One row per (n, α), in the order of the simulation's sizes and levels.
    public var cells: [CoverageSimulation.Cell]
    /// Every broken clause, in table order.
    public var failures: [Failure]

    /// Whether no clause was broken.
    public var passed: Bool { failures.isEmpty }

    /// A header line (strategy, rule, simulation, tolerance, verdict), the coverage table and
    /// one line per failure. Columns: n, α, per-image, pixel-mean and pooled coverage of class
    /// 1, pool coverage (the guaranteed quantity, every class), the bound 1 − α − z·SE it is
    /// checked against, and the mean set size; each measurement is mean ± standard error.
    public var description: String {
        let scenes = simulation.scenes
        var lines = [
            "coverage contract of \(grouping) (\(rule) rule, \(simulation.draws) draws of \(simulation.testImages) "
                + "test images, \(scenes.height) × \(scenes.width) scenes, seed \(simulation.seed), pool coverage ≥ 1 − α − "
                + String(format: "%g", z) + "·SE): " + (passed ? "passed" : "FAILED \(failures.count) check(s)")
        ]
        lines.append("     n      α  per-image      pixel-mean     pooled         pool           bound  set size")
        for cell in cells {
            let bound = 1 - cell.alpha - z * cell.poolCoverage.standardError
            let mark = cell.poolCoverage.mean >= bound ? " " : "!"
            lines.append(
                String(format: "  %4d  %5.3f", cell.calibrationImages, cell.alpha)
                    + "  \(cell.perImageCoverage)  \(cell.pixelMeanCoverage)  \(cell.pooledCoverage)  \(cell.poolCoverage)"
                    + mark + String(format: " %.3f", bound) + "  \(cell.meanSetSize)")
        }
        lines += failures.map { "  - \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// Checks the statistical contract of a strategy: on exchangeable synthetic scenes, its
/// prediction sets reach the coverage the conformal rule guarantees.
///
/// Runs `simulation` (``CoverageSimulation``: for each calibration size n, `draws` independent
/// seeded draws of n calibration and `testImages` test images from ``ExchangeableScenes``;
/// draw d calibrates with `makeGrouping(d)`) under `rule`, and passes when for every (n, α)
/// the pool coverage, the mean over (test image, class, pool with targets) of the covered
/// fraction of the pool's targets, satisfies
///
///   mean ≥ 1 − α − z·SE,
///
/// SE = σ̂/√D the standard error of the mean over the D independent draws. That is what the
/// rule guarantees in expectation for groups fixed before the threshold-setting images are
/// seen; the tolerance is sampling error only (a one-sided z-test of the mean of D i.i.d.
/// draws; z = 3 keeps the chance of a false failure of a valid strategy near 0.13 % per cell,
/// and any stated z can be chosen). With `maximumStandardError` set, a cell whose SE exceeds
/// it also fails: a check whose noise hides a shortfall of that size proves nothing. The
/// default 0.01 holds for the default simulation (SE ≈ 0.003–0.006 at 200 draws of 4 test
/// images of 8 × 10).
///
/// Every draw is seeded (``CoverageSimulation/seed``), so the report is the same on every run.
/// The grouping rule's guarantee is a lower bound: a strategy that overcovers passes.
///
/// - Complexity: draws × sizes × (one calibration + |α| prediction sets).
public func checkCoverageContract<G: NonconformityGrouping>(
    simulation: CoverageSimulation = CoverageSimulation(),
    rule: QuantileRule = .conformal, z: Double = 3,
    maximumStandardError: Double? = 0.01,
    _ makeGrouping: (UInt64) -> G
) -> CoverageContractReport {
    precondition(z >= 0, "z must be ≥ 0, got \(z)")
    var report = CoverageContractReport(
        grouping: makeGrouping(0).name, rule: rule, simulation: simulation, z: z,
        maximumStandardError: maximumStandardError, cells: [], failures: [])
    do throws(CalibrationError) {
        report.cells = try simulation.run(rule: rule, makeGrouping)
    } catch {
        report.failures.append(.threw(error))
        return report
    }
    for cell in report.cells {
        let coverage = cell.poolCoverage
        let bound = 1 - cell.alpha - z * coverage.standardError
        if !(coverage.mean >= bound) {
            report.failures.append(
                .undercovers(
                    calibrationImages: cell.calibrationImages, alpha: cell.alpha,
                    poolCoverage: coverage, bound: bound, shortfall: 1 - cell.alpha - coverage.mean))
        }
        if let maximumStandardError, !(coverage.standardError <= maximumStandardError) {
            report.failures.append(
                .imprecise(
                    calibrationImages: cell.calibrationImages, alpha: cell.alpha,
                    standardError: coverage.standardError, maximum: maximumStandardError))
        }
    }
    return report
}

/// ``checkCoverageContract(simulation:rule:z:maximumStandardError:_:)`` with the same strategy
/// for every draw (one without a seed, or with its seed fixed).
public func checkCoverageContract<G: NonconformityGrouping>(
    _ grouping: G, simulation: CoverageSimulation = CoverageSimulation(),
    rule: QuantileRule = .conformal, z: Double = 3,
    maximumStandardError: Double? = 0.01
) -> CoverageContractReport {
    checkCoverageContract(simulation: simulation, rule: rule, z: z, maximumStandardError: maximumStandardError) { _ in
        grouping
    }
}

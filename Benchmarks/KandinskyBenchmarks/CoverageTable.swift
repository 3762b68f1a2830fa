import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyTesting

/// The coverage of every built-in grouping under both rules on exchangeable synthetic scenes
/// (48 × 64, 50 draws of n calibration and 8 test images per cell): mean per-image coverage,
/// pixel-mean coverage and mean set size of the foreground, and the guaranteed pool coverage.
/// Not a speed benchmark; run it by name (`kandinsky-benchmarks coverage`).
func runCoverageTable() throws {
    let simulation = CoverageSimulation(
        scenes: ExchangeableScenes(height: 48, width: 64), calibrationSizes: [5, 10, 20, 50],
        alphas: [0.1, 0.05], draws: 50, testImages: 8, seed: 2024)
    print(
        "scenes 48 × 64, \(simulation.draws) draws × \(simulation.testImages) test images per cell; mean ± standard error over draws"
    )
    print("| grouping | n | α | rule | per-image | pixel-mean | pooled | pool (guaranteed) | set size |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    let strategies: [(String, (UInt64) -> any NonconformityGrouping)] = [
        ("pixel", { _ in PixelwiseGrouping() }),
        ("image", { _ in ImagewiseGrouping() }),
        ("kmeans", { KMeansGrouping(seed: $0) }),
        ("gen-ann", { AnnulusGrouping(bounds: [[-6, 6], [-6, 6], [0, 30], [0, 30], [0, 60]], seed: $0) }),
    ]
    for (name, make) in strategies {
        func run(_ rule: QuantileRule) throws -> [CoverageSimulation.Cell] {
            func open<G: NonconformityGrouping>(_ first: G) throws -> [CoverageSimulation.Cell] {
                try simulation.run(rule: rule) { seed in make(seed) as! G }
            }
            return try open(make(0))
        }
        let started = Date()
        let linear = try run(.linear)
        let conformal = try run(.conformal)
        for (l, c) in zip(linear, conformal) {
            for (rule, cell) in [("linear", l), ("conformal", c)] {
                print(
                    "| \(name) | \(cell.calibrationImages) | \(cell.alpha) | \(rule) | \(cell.perImageCoverage) | \(cell.pixelMeanCoverage) | \(cell.pooledCoverage) | \(cell.poolCoverage) | \(String(format: "%.3f", cell.meanSetSize.mean)) |"
                )
            }
        }
        print(String(format: "  (%@: %.1f s)", name, Date().timeIntervalSince(started)))
    }
}

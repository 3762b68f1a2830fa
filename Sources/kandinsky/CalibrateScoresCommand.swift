import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// `kandinsky calibrate-scores`: non-conformity curves from probability maps and targets.
struct CalibrateScoresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-scores",
        abstract: "Calibrate non-conformity curves from probabilities and targets saved as .npy.",
        discussion: """
            Scores are s = 1 − p at target pixels. The method decides which pixels share a curve: \
            pixel (each pixel alone), image (all pixels of a class), kmeans (clusters of pixels with \
            similar curves), gen-ann (annuli found by differential evolution).
            """)

    @Option(help: "Probabilities [N, C, H, W], or one sigmoid output p [N, 1, H, W] read as classes 1 − p and p (.npy, F32, F16 or F64, in [0, 1]; up to 1e-5 outside is clamped with a warning).") var probs: String
    @Option(help: "Targets: one-hot [N, C, H, W] 0/1, a label map [N, H, W] of classes 0..<C, or a 0/1 mask [N, 1, H, W] for single-channel probabilities (.npy, any numeric type or bool).") var targets: String
    @Option(help: "Grouping method: \(GroupingSpecification.Method.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: GroupingSpecification.Method
    @Option(help: "Calibrated-model file to write (.safetensors).") var out: String
    @Option(help: "Class grouped by kmeans and gen-ann.") var classIndex = 1
    @Option(help: "Number of k-means clusters.") var clusters = 4
    @Option(help: "Curve indices used as features by kmeans and gen-ann.") var curvePoints = "60,70,80,90"
    @Option(help: "Number of curve points Q.") var curveCount = 100
    @Option(help: "Differential-evolution population size (gen-ann).") var population = 10
    @Option(help: "Differential-evolution generation limit (gen-ann).") var maxGenerations = 1000
    @Option(help: "Stop when the population's objective spread falls below this (gen-ann).") var tolerance = 0.5
    @Option(help: "Bounds of cx, cy, r1, r2, r3 as ten comma-separated numbers (gen-ann); write --bounds=-20,20,... when the first is negative.")
    var bounds = "-20,20,-20,20,0,150,0,150,0,300"
    @Option(help: "Pixels in the subsampled objective used while searching, 0 for exact evaluations (gen-ann).")
    var searchSampleSize = 4096
    @Option(help: "Seed of k-means++ and differential evolution.") var seed: UInt64 = 0
    @Option(help: "Score precision: float or half-probabilities.") var precision: ScorePrecision = .float

    func validate() throws {
        guard curveCount >= 2 else { throw ValidationError("--curve-count: expected at least 2 curve points, found \(curveCount)") }
        guard clusters >= 1 else { throw ValidationError("--clusters: expected at least 1 cluster, found \(clusters)") }
        guard population >= 4 else { throw ValidationError("--population: differential evolution needs at least 4 individuals, found \(population)") }
        guard maxGenerations >= 0 else { throw ValidationError("--max-generations: expected a non-negative number, found \(maxGenerations)") }
        guard searchSampleSize >= 0 else { throw ValidationError("--search-sample-size: expected 0 or a positive number, found \(searchSampleSize)") }
        let points = try CalibrationInputs.integers(curvePoints, option: "--curve-points")
        guard points.allSatisfy({ $0 >= 0 && $0 < curveCount }) else {
            throw ValidationError("--curve-points: expected indices in 0..<\(curveCount) (the --curve-count), found \(points)")
        }
        let b = try CalibrationInputs.numbers(bounds, option: "--bounds")
        guard b.count == 10, stride(from: 0, to: 10, by: 2).allSatisfy({ b[$0] <= b[$0 + 1] }) else {
            throw ValidationError("--bounds: expected ten numbers low,high for cx, cy, r1, r2, r3 with low ≤ high, found '\(bounds)'")
        }
    }

    /// The strategy chosen on the command line.
    func grouping() throws -> any NonconformityGrouping {
        var specification = GroupingSpecification(method: method)
        specification.classIndex = classIndex
        specification.clusterCount = clusters
        specification.curvePoints = try CalibrationInputs.integers(curvePoints, option: "--curve-points")
        let b = try CalibrationInputs.numbers(bounds, option: "--bounds")
        specification.bounds = stride(from: 0, to: 10, by: 2).map { [b[$0], b[$0 + 1]] }
        specification.populationSize = population
        specification.maxGenerations = maxGenerations
        specification.tolerance = tolerance
        specification.seed = seed
        specification.searchSampleSize = searchSampleSize == 0 ? nil : searchSampleSize
        return specification.makeGrouping()
    }

    func run() throws {
        let grouping = try grouping()
        let (probabilities, targetMask) = try CalibrationInputs.load(probabilities: probs, targets: targets)
        let scores: ScoreStore
        switch probabilities {
        case .float32(let p):
            scores = try ScoreStore(probabilities: p, targets: targetMask, precision: precision, probabilitiesSource: probs, targetsSource: targets)
        case .float16(let p):
            scores = try ScoreStore(probabilities: p, targets: targetMask, precision: precision, probabilitiesSource: probs, targetsSource: targets)
        }
        if method == .kmeans || method == .genAnn {
            try InputValidation.checkClassIndex(classIndex, classCount: scores.classCount, source: "--class-index")
        }
        let curves = try grouping.calibrate(scores, levelCount: curveCount)
        try curves.write(to: URL(fileURLWithPath: out))
        var summary = "\(out): method \(curves.method), \(curves.levelCount) curve points, \(curves.classCount) classes, "
            + "\(curves.height)×\(curves.width) pixels, \(curves.calibrationImageCount) calibration images"
        for (c, counts) in curves.groupSampleCounts.enumerated() {
            if let counts { summary += "; class \(c): \(counts.count) groups with \(counts) scores" }
        }
        if let theta = curves.groups.findings["theta"], let objective = curves.groups.findings["objective"] {
            summary += "; theta \(theta), J \(objective)"
        }
        print(summary)
    }
}

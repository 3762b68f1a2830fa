import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyExperiments

/// `kandinsky calibrate-scores`: non-conformity curves from probability maps and targets.
struct CalibrateScoresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-scores",
        abstract:
            "Calibrate non-conformity curves from probabilities and targets (.npy or .safetensors shards) or a score store.",
        discussion: """
            Scores are s = 1 − p at target pixels. The method decides which pixels share a curve: \
            pixel (each pixel alone), image (all pixels of a class), kmeans (clusters of pixels with \
            similar curves), gen-ann (annuli found by differential evolution). --quantile conformal \
            (the default) gives every pool (a pixel, a group) a finite-sample guarantee per image: \
            a test image with targets of a class in the pool has in expectation at least 1 − α \
            of them in their sets; thresholds are +∞ (always in) where a pool has too few images \
            to reach a level. kmeans and gen-ann choose their groups on part of the images \
            (--group-split) so that the guarantee holds. --quantile linear --group-split none \
            --classes 1 --precision half-probabilities reproduces the original implementation.

            The inputs may be shards read one pair at a time (see --probs), or a score store \
            (--scores) that score wrote per shard set and merge-scores combined; either gives the \
            same curves, bit for bit, as the arrays concatenated.
            """)

    @OptionGroup var inputs: ShardOptions
    @Option(help: "A score store (.kscores) written by score or merge-scores, instead of --probs and --targets.")
    var scores: String?
    @Option(
        help:
            "Keep the scores on disk in this directory, memory-mapped, for more than memory holds: --probs and --targets are scored into DIR/scores.kscores part by part and merged (6 bytes a score), or the --scores file is mapped instead of read; a group split writes its selections here. Resident memory stays near 1 GB whatever N."
    )
    var scoresDir: String?
    @Option(help: "Possible scores (n·C·H·W) per part when --scores-dir scores shards; 6 bytes each in memory.")
    var partScores = 1 << 26
    @Option(help: "Grouping method: \(GroupingSpecification.Method.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: GroupingSpecification.Method
    @Option(help: "Calibrated-model file to write (.safetensors).") var out: String
    @Option(help: "Threshold rule: conformal (finite-sample guarantee) or linear (the original's numpy quantiles).")
    var quantile: QuantileRule = .conformal
    @Option(help: "Classes grouped by kmeans and gen-ann, comma-separated (default: every class; 1 as the original).")
    var classes: String?
    @Option(
        help:
            "Images that choose kmeans/gen-ann groups: auto (0.5 under conformal, none under linear), none (all images, the paper's variant, not covered by the guarantee) or a fraction in (0, 1)."
    )
    var groupSplit = "auto"
    @Option(
        help:
            "What a pixel or group that cannot reach a level takes under conformal: none (+∞, always in), group or image."
    )
    var fallback: ThresholdFallback = .none
    @Option(help: "Number of k-means clusters.") var clusters = KMeansGrouping.Parameters.default.clusterCount
    @Option(help: "Curve indices used as features by kmeans and gen-ann.")
    var curvePoints = Self.list(KMeansGrouping.Parameters.default.curvePoints.map(Double.init))
    @Option(
        help:
            "Number of curve points Q, 2 to \(Self.maximumCurveCount) (default: 101 under conformal, 100 under linear)."
    )
    var curveCount: Int?
    @Option(help: "Differential-evolution population size (gen-ann).") var population = Self.annulus.populationSize
    @Option(help: "Differential-evolution generation limit (gen-ann).") var maxGenerations = Self.annulus.maxGenerations
    @Option(help: "Stop when the population's objective spread falls below this (gen-ann).")
    var tolerance = Self.annulus.tolerance
    @Option(
        help:
            "Bounds of cx, cy, r1, r2, r3 as ten comma-separated numbers (gen-ann); write --bounds=-20,20,... when the first is negative."
    )
    var bounds = Self.list(Self.annulus.bounds.flatMap { $0 })
    @Option(help: "Pixels in the subsampled objective used while searching, 0 for exact evaluations (gen-ann).")
    var searchSampleSize = Self.annulus.searchSampleSize ?? 0
    @Option(help: "Seed of k-means++, differential evolution and the group split.")
    var seed = KMeansGrouping.Parameters.default.seed
    @Option(name: .customLong("precision"), help: "Score precision: float or half-probabilities (default: float).")
    var precisionOption: ScorePrecision?

    /// The defaults of gen-ann's options.
    static let annulus = AnnulusGrouping.Parameters.default

    /// Numbers as the options take them: comma-separated, whole numbers without a decimal point.
    static func list(_ values: [Double]) -> String {
        values.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : "\($0)" }.joined(separator: ",")
    }

    /// The most curve points, as for `calibration.curve_count`: the curves take Q·C·H·W·4 bytes.
    static let maximumCurveCount = ConfigSchema.maximumCurveCount

    /// Q as given or the rule's default.
    var levelCount: Int { curveCount ?? Calibrator<PixelwiseGrouping>.defaultLevelCount(for: quantile) }

    func validate() throws {
        if scores != nil {
            guard inputs.probabilities.probs.isEmpty && inputs.targets.isEmpty else {
                throw ValidationError("--scores: give a score store or --probs and --targets, not both")
            }
            guard precisionOption == nil else {
                throw ValidationError(
                    "--precision: a score store keeps the precision it was scored with; give it to score instead")
            }
        } else {
            try inputs.validate(requireTargets: true)
        }
        guard partScores >= 1 else {
            throw ValidationError("--part-scores: expected a positive number of scores, found \(partScores)")
        }
        guard levelCount >= 2 && levelCount <= Self.maximumCurveCount else {
            throw ValidationError(
                "--curve-count: expected 2 to \(Self.maximumCurveCount) curve points, found \(levelCount)")
        }
        _ = try split()
        if let classes { _ = try CalibrationInputs.integers(classes, option: "--classes") }
        guard clusters >= 1 else { throw ValidationError("--clusters: expected at least 1 cluster, found \(clusters)") }
        guard population >= 4 else {
            throw ValidationError(
                "--population: differential evolution needs at least 4 individuals, found \(population)")
        }
        guard maxGenerations >= 0 else {
            throw ValidationError("--max-generations: expected a non-negative number, found \(maxGenerations)")
        }
        guard searchSampleSize >= 0 else {
            throw ValidationError("--search-sample-size: expected 0 or a positive number, found \(searchSampleSize)")
        }
        let points = try CalibrationInputs.integers(curvePoints, option: "--curve-points")
        guard points.allSatisfy({ $0 >= 0 && $0 < levelCount }) else {
            throw ValidationError(
                "--curve-points: expected indices in 0..<\(levelCount) (the curve count), found \(points)")
        }
        let b = try CalibrationInputs.numbers(bounds, option: "--bounds")
        guard b.count == 10 else {
            throw ValidationError(
                "--bounds: expected ten numbers low,high for cx, cy, r1, r2, r3, found \(b.count) in '\(bounds)'")
        }
        for (j, name) in ["cx", "cy", "r1", "r2", "r3"].enumerated() where !(b[2 * j] <= b[2 * j + 1]) {
            throw ValidationError(
                "--bounds: the \(name) pair \(b[2 * j]),\(b[2 * j + 1]) is reversed or NaN (expected low ≤ high)")
        }
    }

    /// The group split chosen by --group-split, read as `calibration.group_split` is.
    func split() throws -> GroupSplit? {
        do { return try GroupSplitSetting(groupSplit).split } catch {
            throw ValidationError("--group-split: expected auto, none or a fraction in (0, 1), found '\(groupSplit)'")
        }
    }

    /// The strategy chosen on the command line: the method's ``KMeansGrouping/Parameters`` or
    /// ``AnnulusGrouping/Parameters`` from the options, and the defaults for those no option sets.
    func specification() throws -> GroupingSpecification {
        let classes = try classes.map { try CalibrationInputs.integers($0, option: "--classes") }
        let points = try CalibrationInputs.integers(curvePoints, option: "--curve-points")
        let b = try CalibrationInputs.numbers(bounds, option: "--bounds")
        var kmeans = KMeansGrouping.Parameters.default
        var annulus = Self.annulus
        (kmeans.classes, kmeans.curvePoints, kmeans.clusterCount, kmeans.seed) = (classes, points, clusters, seed)
        (annulus.classes, annulus.curvePoints, annulus.seed) = (classes, points, seed)
        annulus.bounds = stride(from: 0, to: 10, by: 2).map { [b[$0], b[$0 + 1]] }
        (annulus.populationSize, annulus.maxGenerations, annulus.tolerance) = (population, maxGenerations, tolerance)
        annulus.searchSampleSize = searchSampleSize == 0 ? nil : searchSampleSize
        return GroupingSpecification(method: method, kmeans: kmeans, annulus: annulus)
    }

    func run() throws {
        LargeAllocations.returnToTheSystemWhenFreed()
        let specification = try specification()
        let grouping = specification.makeGrouping()
        let scores: ScoreStore
        let targetsName: String
        let directory = scoresDir.map { URL(fileURLWithPath: $0) }
        if let path = self.scores {
            let url = URL(fileURLWithPath: path)
            scores =
                try directory.map { try ScoreStore(mapping: url, spillDirectory: $0) }
                ?? ScoreStore.read(contentsOf: url)
            targetsName = path
        } else {
            let shards = try inputs.shards()
            if let directory {
                let file = try shards.scoreStoreFile(
                    precision: precisionOption ?? .float, in: directory, partScores: partScores)
                scores = try ScoreStore(mapping: file, spillDirectory: directory)
            } else {
                scores = try shards.scoreStore(precision: precisionOption ?? .float)
            }
            targetsName = ShardedInputs.describe(shards.targets)
        }
        if method == .kmeans || method == .genAnn {
            _ = try InputValidation.groupedClasses(
                specification.classes, classCount: scores.classCount, source: "--classes")
        }
        for c in 0..<scores.classCount where scores.scoreCount(ofClass: c) == 0 {
            CalibrationInputs.warn(
                "\(targetsName): class \(c) has no target pixel; its threshold is \(quantile == .conformal ? "+inf (always in the set)" : "NaN (never in the set)")"
            )
        }
        let curves = try grouping.calibrate(
            scores, levelCount: levelCount, rule: quantile, groupSplit: try split(),
            fallback: fallback, seed: seed)
        try curves.write(to: URL(fileURLWithPath: out))
        var summary =
            "\(out): method \(curves.method), rule \(curves.rule.rawValue), \(curves.levelCount) curve points, \(curves.classCount) classes, "
            + "\(curves.height)×\(curves.width) pixels, \(curves.calibrationImageCount) calibration images"
        for (c, counts) in curves.groupSampleCounts.enumerated() {
            if let counts {
                summary += "; class \(c): \(counts.count) groups with \(counts) scores"
                if let images = curves.groupImageCounts[c] { summary += " from \(images) images" }
            }
        }
        if let theta = curves.groups.findings["theta"], let objective = curves.groups.findings["objective"] {
            summary += "; theta \(theta), J \(objective)"
        }
        print(summary)
        if curves.rule == .conformal {
            // How much of the image the guarantee costs: pixels whose class is always in the set.
            let plane = curves.height * curves.width
            let parts = [0.2, 0.1, 0.05].map { alpha in
                let thresholds = curves.threshold(atLevel: 1 - alpha)
                let perClass = (0..<curves.classCount).map { c in
                    thresholds.withUnsafeBufferPointer { t in
                        (0..<plane).reduce(0) { $0 + (t[c * plane + $1] == .infinity ? 1 : 0) }
                    }
                }
                return "α = \(alpha): " + perClass.enumerated().map { "class \($0) \($1)" }.joined(separator: ", ")
            }
            print("always in the set (pixels of \(plane)): " + parts.joined(separator: "; "))
        }
    }
}

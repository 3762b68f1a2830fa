import Foundation
import KandinskyCore

/// Kandinsky grouping by concentric annuli found by differential evolution (`gen-ann`).
///
/// The pixels of each class in `classes` (every class when nil) are split into a disc, two
/// rings and the outside around a centre near the image centre (see `AnnulusGeometry`);
/// θ = (cx, cy, r1, r2, r3), searched per class with the same seed, minimises the within-group
/// spread of the curve features (see `AnnulusObjective`): the values of the descriptive
/// (linear) pixelwise curves at `curvePoints`. Other classes keep their pixelwise curves; a
/// class without any score is left pixelwise.
///
/// Guarantee: a searched θ depends on the scores, so the conformal guarantee of each annulus
/// (see ``Calibrator``) holds when the calibrator's ``GroupSplit`` gives the search images
/// other than the threshold-setting ones (the default under the conformal rule). A fixed
/// `theta` does not look at the data, and then every image sets the thresholds.
///
/// Search: `DifferentialEvolution` rand/1/bin with the given population, F, CR, tolerance and
/// generation limit, initial population uniform in `bounds`; every individual has its radii
/// sorted ascending and then every coordinate clamped to its bounds. With n feature pixels
/// above `searchSampleSize`, the search is a sampled one, run `sampledSearchRuns` times
/// independently (each with its own draws and subsample); the run ending at the lowest exact J
/// wins (the earliest on ties). One run first evaluates an estimate of J on a regular grid of
/// about `searchSampleSize` pixels (O(M²) instead of O(n²) per evaluation) until the estimates
/// meet the stopping rule; it then continues from that population on the exact J, evaluated
/// incrementally from the best partition so far (only pixels that change annulus cost
/// anything), until the exact values meet the stopping rule, within the same total generation
/// limit, and finally refines the best θ by an exact compass search (each coordinate ± a step,
/// the step halved from 2 pixels down to 2⁻¹⁰ whenever no move improves, at most
/// `compassEvaluationLimit` evaluations). The stored θ is the best exactly evaluated one and J
/// is recomputed from scratch. With `searchSampleSize` ≥ n (or nil) every evaluation is exact
/// and there is one run.
///
/// Pixels whose pixelwise curve is NaN are left out of J but still belong to their annulus (they
/// add no scores to its pool).
///
/// A fixed `theta` skips the search.
public struct AnnulusGrouping: NonconformityGrouping {
    /// The parameters recorded in the calibrated-model file.
    public struct Parameters: Codable, Sendable, Equatable {
        /// The classes whose pixels are grouped into annuli (nil: every class); others stay pixelwise.
        public var classes: [Int]?
        /// Indices of the pixelwise curve points used as each pixel's feature vector f.
        public var curvePoints: [Int]
        /// Bounds of (cx, cy, r1, r2, r3), each [low, high].
        public var bounds: [[Double]]
        /// Individuals of the differential-evolution population.
        public var populationSize: Int
        /// F, the weight of the difference vector in rand/1 mutation.
        public var differentialWeight: Double
        /// CR, the probability that binomial crossover takes a mutant coordinate.
        public var crossoverProbability: Double
        /// The generation limit.
        public var maxGenerations: Int
        /// The search stops when the standard deviation of the population's fitness falls below this.
        public var tolerance: Double
        /// Seed of the initial population, the donors and the crossover draws.
        public var seed: UInt64
        /// Pixels in the search's subsampled objective; nil for exact evaluations throughout.
        public var searchSampleSize: Int?
        /// A θ to use instead of searching.
        public var theta: [Double]?

        /// Parameters with every value given.
        public init(
            classes: [Int]?, curvePoints: [Int], bounds: [[Double]], populationSize: Int,
            differentialWeight: Double, crossoverProbability: Double, maxGenerations: Int, tolerance: Double,
            seed: UInt64, searchSampleSize: Int?, theta: [Double]?
        ) {
            self.classes = classes
            self.curvePoints = curvePoints
            self.bounds = bounds
            self.populationSize = populationSize
            self.differentialWeight = differentialWeight
            self.crossoverProbability = crossoverProbability
            self.maxGenerations = maxGenerations
            self.tolerance = tolerance
            self.seed = seed
            self.searchSampleSize = searchSampleSize
            self.theta = theta
        }

        /// The Kandinsky defaults, the one copy the initialiser, ``GroupingSpecification``,
        /// `DifferentialEvolution`, the command line and the configuration files take theirs
        /// from: every class; features at curve indices 60, 70, 80, 90 (as ``KMeansGrouping``);
        /// ``AnnulusGrouping/defaultBounds``; a population of 10 with F = 0.8 and CR = 0.7 (the
        /// original's search); at most 1000 generations, stopping at a fitness spread below 0.5;
        /// seed 0; a subsampled objective of 4096 pixels while searching; θ searched.
        public static let `default` = Parameters(
            classes: nil, curvePoints: [60, 70, 80, 90], bounds: defaultBounds,
            populationSize: 10, differentialWeight: 0.8, crossoverProbability: 0.7,
            maxGenerations: 1000, tolerance: 0.5, seed: 0, searchSampleSize: 4096,
            theta: nil)
    }

    /// The parameters of this strategy.
    public var parameters: Parameters

    /// The default bounds: centre within 20 pixels of the image centre, r1 and r2 up to 150,
    /// r3 up to 300 pixels (beyond the half-diagonal of common image sizes).
    public static let defaultBounds: [[Double]] = [[-20, 20], [-20, 20], [0, 150], [0, 150], [0, 300]]

    /// The strategy with `parameters`.
    public init(parameters: Parameters) {
        self.parameters = parameters
    }

    /// The strategy with ``Parameters/default`` for every parameter not given.
    public init(
        classes: [Int]? = Parameters.default.classes, curvePoints: [Int] = Parameters.default.curvePoints,
        bounds: [[Double]] = Parameters.default.bounds, populationSize: Int = Parameters.default.populationSize,
        differentialWeight: Double = Parameters.default.differentialWeight,
        crossoverProbability: Double = Parameters.default.crossoverProbability,
        maxGenerations: Int = Parameters.default.maxGenerations,
        tolerance: Double = Parameters.default.tolerance,
        seed: UInt64 = Parameters.default.seed, searchSampleSize: Int? = Parameters.default.searchSampleSize,
        theta: [Double]? = Parameters.default.theta
    ) {
        parameters = Parameters(
            classes: classes, curvePoints: curvePoints, bounds: bounds,
            populationSize: populationSize, differentialWeight: differentialWeight,
            crossoverProbability: crossoverProbability, maxGenerations: maxGenerations,
            tolerance: tolerance, seed: seed, searchSampleSize: searchSampleSize, theta: theta)
    }

    /// `gen-ann`.
    public var name: String { "gen-ann" }

    /// True unless θ is fixed.
    public var selectsGroupsFromScores: Bool { parameters.theta == nil }

    /// Sorts the radii ascending, then clamps each coordinate to its bounds.
    package static func repair(_ theta: [Double], bounds: [[Double]]) -> [Double] {
        var repaired = theta
        let radii = theta[2...4].sorted()
        repaired.replaceSubrange(2...4, with: radii)
        for j in repaired.indices { repaired[j] = min(max(repaired[j], bounds[j][0]), bounds[j][1]) }
        return repaired
    }

    /// The objective of class `classIndex` for these scores.
    package func objective(for input: GroupingInput, classIndex: Int) throws(CalibrationError) -> AnnulusObjective {
        let p = parameters
        try InputValidation.checkClassIndex(classIndex, classCount: input.scores.classCount, source: "gen-ann")
        try CurveFeatures.check(points: p.curvePoints, levelCount: input.levels.count)
        let features = CurveFeatures(input: input, classIndex: classIndex, points: p.curvePoints)
        return AnnulusObjective(
            features: features.values, pixels: features.pixels,
            height: input.scores.height, width: input.scores.width)
    }

    /// Searches θ (or takes the fixed one) per grouped class and groups it into its annuli.
    /// Findings: `theta` (``Finding/numbers(_:)``), `objective` (exact J), `generations`,
    /// `converged`, …; when several classes are grouped, each is a ``Finding/perClass(_:)``.
    public func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let p = parameters
        guard p.bounds.count == 5, p.bounds.allSatisfy({ $0.count == 2 }) else {
            throw .invalidParameter(
                "bounds", problem: "expected 5 [low, high] pairs for cx, cy, r1, r2, r3, found \(p.bounds)")
        }
        for (j, name) in ["cx", "cy", "r1", "r2", "r3"].enumerated() where !(p.bounds[j][0] <= p.bounds[j][1]) {
            throw .invalidParameter(
                "bounds", problem: "the \(name) pair \(p.bounds[j]) is reversed or NaN (expected low ≤ high)")
        }
        guard p.populationSize >= 4, p.maxGenerations >= 0 else {
            throw .invalidParameter(
                "population",
                problem:
                    "differential evolution needs a population of at least 4 and a non-negative generation limit, found \(p.populationSize) and \(p.maxGenerations)"
            )
        }
        if let fixed = p.theta, fixed.count != 5 {
            throw .invalidParameter("theta", problem: "expected 5 values (cx, cy, r1, r2, r3), found \(fixed)")
        }
        let classes = try InputValidation.groupedClasses(
            p.classes, classCount: input.scores.classCount, source: "gen-ann")
        var labels: [ShapedArray<Int32>?] = Array(repeating: nil, count: input.scores.classCount)
        var counts = Array(repeating: 0, count: input.scores.classCount)
        var findingsPerClass: [(Int, [String: Finding])] = []
        for c in classes where p.theta != nil || input.scores.scoreCount(ofClass: c) > 0 {
            let objective = try objective(for: input, classIndex: c)
            var theta: [Double]
            var value: Double
            var findings: [String: Finding] = [:]
            if let fixed = p.theta {
                theta = fixed
                value = objective.value(theta: fixed)
            } else {
                (theta, value, findings) = search(objective)
            }
            findings["theta"] = .numbers(theta)
            findings["objective"] = .number(value)
            findingsPerClass.append((c, findings))
            labels[c] = AnnulusGeometry.labels(height: input.scores.height, width: input.scores.width, theta: theta)
            counts[c] = AnnulusGeometry.groupCount
        }
        return PixelGroups(labels: labels, groupCounts: counts, findings: PixelGroups.combining(findingsPerClass))
    }

    /// Independent sampled searches: the sampled objective's bias near the optimum differs with
    /// the subsample, so several runs whose exact refinements compete end at a low exact J far
    /// more reliably than one (each costs about a tenth of a plain exact search).
    package static let sampledSearchRuns = 3
    /// The most exact evaluations of one compass refinement.
    package static let compassEvaluationLimit = 1000

    /// The differential-evolution search: one exact search, or the best of
    /// ``sampledSearchRuns`` sampled ones (see the type's documentation).
    func search(_ exact: AnnulusObjective) -> (theta: [Double], value: Double, findings: [String: Finding]) {
        var generator = SeededGenerator(seed: parameters.seed)
        // Drawn only to learn whether the search is sampled (run 0 draws it again from the same seed).
        let surrogate = exact.subsampled(count: parameters.searchSampleSize ?? Int.max, using: &generator)
        if surrogate.pixelCount == exact.pixelCount {
            // One θ per core: J does not depend on how its sums are spread, and small groups
            // would leave cores idle within one θ.
            let result = minimize(
                "annulus search", maxGenerations: parameters.maxGenerations,
                evaluate: { exact.values(thetas: $0) }, using: &generator)
            return (
                result.best, result.bestValue,
                ["generations": .integer(result.generations), "converged": .flag(result.converged)]
            )
        }
        let runs = (0..<Self.sampledSearchRuns).map { sampledSearch(exact, run: $0) }
        let best = runs.min { $0.value < $1.value }!
        // Recomputed from scratch, so no rounding of the incremental updates is stored.
        return (best.theta, exact.value(theta: best.theta), best.findings)
    }

    /// Sampled run `run` (from 0): differential evolution on a subsampled objective, continued
    /// on the exact J from its final population, then an exact compass refinement. Its draws,
    /// subsample included, come from stream `run` of the seed (stream 0 is the seed itself).
    func sampledSearch(_ exact: AnnulusObjective, run: Int)
        -> (theta: [Double], value: Double, findings: [String: Finding])
    {
        let p = parameters
        var generator = SeededGenerator.stream(run, of: p.seed)
        let surrogate = exact.subsampled(count: p.searchSampleSize ?? Int.max, using: &generator)
        let label = "run \(run + 1) of \(Self.sampledSearchRuns)"
        let first = minimize(
            "annulus search (sampled, \(label))", maxGenerations: p.maxGenerations,
            evaluate: { surrogate.values(thetas: $0) }, using: &generator)
        // Exact continuation: candidates now sit close together, so exact values are cheap
        // updates of the best partition so far.
        let remaining = max(p.maxGenerations - first.generations, 0)
        let evaluator = AnnulusObjective.Incremental(exact, theta: first.best)
        let second = minimize(
            "annulus search (exact, \(label))", maxGenerations: remaining, initialPopulation: first.population,
            evaluate: { batch in
                batch.map { theta in
                    let (value, sums) = evaluator.evaluate(theta)
                    if value < evaluator.value { evaluator.rebase(to: theta, value: value, sums: sums) }
                    return value
                }
            }, using: &generator)
        // The evaluator's reference is the best exactly evaluated θ so far. A compass search
        // around it removes what is left of the sampled objective's bias near the optimum; J is
        // piecewise constant in θ (it changes only when a pixel crosses a circle), so the step
        // goes down to a small fraction of a pixel before the search stops.
        var best = evaluator.theta
        var bestValue = evaluator.value
        var step = 2.0
        var evaluations = 0
        while step >= 0x1p-10 && evaluations < Self.compassEvaluationLimit {
            var improved = false
            for j in 0..<5 {
                for direction in [1.0, -1.0] {
                    var candidate = best
                    candidate[j] += direction * step
                    candidate = Self.repair(candidate, bounds: p.bounds)
                    guard candidate != best else { continue }
                    let (value, sums) = evaluator.evaluate(candidate)
                    evaluations += 1
                    if value < bestValue {
                        best = candidate
                        bestValue = value
                        evaluator.rebase(to: candidate, value: value, sums: sums)
                        improved = true
                    }
                }
            }
            if !improved { step /= 2 }
        }
        return (
            best, bestValue,
            [
                "generations": .integer(first.generations + second.generations),
                "sampled_generations": .integer(first.generations),
                "refinement_evaluations": .integer(evaluations),
                "search_run": .integer(run + 1),
                "converged": .flag(second.converged),
            ]
        )
    }

    /// Differential evolution with `maxGenerations`, reported as a progress bar titled `title`.
    private func minimize(
        _ title: String, maxGenerations: Int, initialPopulation: [[Double]]? = nil,
        evaluate: ([[Double]]) -> [Double], using generator: inout SeededGenerator
    ) -> DifferentialEvolution.Result {
        let p = parameters
        let progress = ProgressReporter(title: title, total: maxGenerations)
        let result = DifferentialEvolution(
            populationSize: p.populationSize, differentialWeight: p.differentialWeight,
            crossoverProbability: p.crossoverProbability, maxGenerations: maxGenerations,
            tolerance: p.tolerance
        )
        .minimize(
            bounds: p.bounds.map { $0[0]...$0[1] }, initialPopulation: initialPopulation,
            repair: { Self.repair($0, bounds: p.bounds) }, evaluate: evaluate,
            progress: { generation in
                let message = String(
                    format: "generation %d best J %.6g spread %.3g", generation.index,
                    generation.bestValue, generation.spread)
                if generation.index == 0 {
                    progress.update(message: message)
                } else {
                    progress.advance(message: message)
                }
            },
            using: &generator)
        progress.finish(
            message: String(
                format: "%d generations, best J %.6g%@", result.generations, result.bestValue,
                result.converged ? "" : " (generation limit reached)"))
        return result
    }
}

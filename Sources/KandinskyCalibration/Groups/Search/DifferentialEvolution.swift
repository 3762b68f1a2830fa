import KandinskyCore

/// Minimisation by differential evolution, strategy rand/1/bin (Storn & Price 1997).
///
/// The population of `populationSize` vectors starts uniform in the bounds (then repaired).
/// Each generation, for every individual i: three distinct indices a, b, c, all different from
/// i, are drawn; the mutant is v = x_a + F·(x_b − x_c); the trial takes v_j where a uniform draw
/// is below CR, and at one random coordinate j_rand always, and x_ij elsewhere; the trial is
/// repaired (see `repair`) and replaces x_i if its value is lower or equal (greedy selection).
/// Trials of a generation are all built before any is evaluated, so a generation's values can be
/// computed in one batch (in parallel). The search stops after the first generation whose
/// population values have a standard deviation (population, not sample) below `tolerance`, or
/// after `maxGenerations`. The best individual is always the best of the current population, so
/// it is never stale.
///
/// - Complexity: at most `populationSize · (maxGenerations + 1)` evaluations.
package struct DifferentialEvolution: Sendable {
    /// The number of individuals (at least 4, so that a, b, c, i can be distinct).
    package var populationSize: Int
    /// F, the differential weight.
    package var differentialWeight: Double
    /// CR, the crossover probability.
    package var crossoverProbability: Double
    /// The most generations to run.
    package var maxGenerations: Int
    /// Stop when the standard deviation of the population's values falls below this.
    package var tolerance: Double

    /// The search's settings; the defaults are those of the Kandinsky annulus search
    /// (``AnnulusGrouping/Parameters/default``).
    package init(
        populationSize: Int = AnnulusGrouping.Parameters.default.populationSize,
        differentialWeight: Double = AnnulusGrouping.Parameters.default.differentialWeight,
        crossoverProbability: Double = AnnulusGrouping.Parameters.default.crossoverProbability,
        maxGenerations: Int = AnnulusGrouping.Parameters.default.maxGenerations,
        tolerance: Double = AnnulusGrouping.Parameters.default.tolerance
    ) {
        precondition(populationSize >= 4, "differential evolution needs at least 4 individuals, got \(populationSize)")
        precondition(maxGenerations >= 0, "maxGenerations must be non-negative, got \(maxGenerations)")
        self.populationSize = populationSize
        self.differentialWeight = differentialWeight
        self.crossoverProbability = crossoverProbability
        self.maxGenerations = maxGenerations
        self.tolerance = tolerance
    }

    /// The state after a generation, for progress reports.
    package struct Generation: Sendable {
        /// The generation number (0 for the initial population).
        package var index: Int
        /// The lowest value in the population.
        package var bestValue: Double
        /// The standard deviation of the population's values.
        package var spread: Double
    }

    /// The outcome of a search.
    package struct Result: Sendable {
        /// The best individual of the final population.
        package var best: [Double]
        /// Its value.
        package var bestValue: Double
        /// The final population.
        package var population: [[Double]]
        /// The objective of each member of the final population.
        package var values: [Double]
        /// The generations run.
        package var generations: Int
        /// Whether the spread fell below the tolerance.
        package var converged: Bool
    }

    /// Minimises a function evaluated a batch at a time.
    ///
    /// - Parameters:
    ///   - bounds: the box of the initial population, one range per coordinate.
    ///   - initialPopulation: start from these individuals instead of uniform draws (they are
    ///     still repaired); its count must equal `populationSize`.
    ///   - repair: maps any vector to an admissible one (for example sorting and clamping).
    ///   - evaluate: the values of a batch of vectors, in order.
    ///   - progress: called after every generation.
    ///   - generator: the source of every random draw (initial population, donors, crossover).
    package func minimize(
        bounds: [ClosedRange<Double>], initialPopulation: [[Double]]? = nil,
        repair: ([Double]) -> [Double] = { $0 },
        evaluate: ([[Double]]) -> [Double],
        progress: (Generation) -> Void = { _ in },
        using generator: inout some RandomNumberGenerator
    ) -> Result {
        let dimension = bounds.count
        precondition(dimension >= 1, "at least one coordinate is needed")
        var population: [[Double]]
        if let initialPopulation {
            precondition(
                initialPopulation.count == populationSize && initialPopulation.allSatisfy { $0.count == dimension },
                "the initial population must have \(populationSize) vectors of \(dimension) coordinates")
            population = initialPopulation.map(repair)
        } else {
            population = (0..<populationSize).map { _ in
                repair(bounds.map { $0.lowerBound + ($0.upperBound - $0.lowerBound) * generator.nextUnitDouble() })
            }
        }
        var values = evaluate(population)
        var spread = Self.standardDeviation(values)
        progress(Generation(index: 0, bestValue: values.min()!, spread: spread))
        var generation = 0
        while generation < maxGenerations && !(spread < tolerance) {
            generation += 1
            var trials: [[Double]] = []
            trials.reserveCapacity(populationSize)
            for i in 0..<populationSize {
                let (a, b, c) = distinctDonors(excluding: i, using: &generator)
                let jRandom = Int.random(in: 0..<dimension, using: &generator)
                var trial = population[i]
                for j in 0..<dimension where j == jRandom || generator.nextUnitDouble() < crossoverProbability {
                    trial[j] = population[a][j] + differentialWeight * (population[b][j] - population[c][j])
                }
                trials.append(repair(trial))
            }
            let trialValues = evaluate(trials)
            for i in 0..<populationSize where trialValues[i] <= values[i] {
                population[i] = trials[i]
                values[i] = trialValues[i]
            }
            spread = Self.standardDeviation(values)
            progress(Generation(index: generation, bestValue: values.min()!, spread: spread))
        }
        let bestIndex = values.indices.min { values[$0] < values[$1] }!
        return Result(
            best: population[bestIndex], bestValue: values[bestIndex], population: population,
            values: values, generations: generation, converged: spread < tolerance)
    }

    /// Minimises a function of one vector at a time.
    package func minimize(
        bounds: [ClosedRange<Double>], repair: ([Double]) -> [Double] = { $0 },
        objective: ([Double]) -> Double,
        using generator: inout some RandomNumberGenerator
    ) -> Result {
        minimize(bounds: bounds, repair: repair, evaluate: { $0.map(objective) }, using: &generator)
    }

    /// Three distinct indices, all different from `i`.
    private func distinctDonors(excluding i: Int, using generator: inout some RandomNumberGenerator) -> (Int, Int, Int)
    {
        func draw(_ excluded: [Int]) -> Int {
            while true {
                let candidate = Int.random(in: 0..<populationSize, using: &generator)
                if !excluded.contains(candidate) { return candidate }
            }
        }
        let a = draw([i])
        let b = draw([i, a])
        let c = draw([i, a, b])
        return (a, b, c)
    }

    static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
    }
}

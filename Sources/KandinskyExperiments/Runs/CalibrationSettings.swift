import KandinskyCalibration

/// The `calibration:` section of a configuration.
package struct CalibrationSettings: Sendable {
    /// The strategy and its parameters (`calibration.method`, `classes`, `n_clusters`, …).
    package var grouping: GroupingSpecification
    /// Q, the number of curve points (`calibration.curve_count`); nil for the rule's default
    /// (101 for conformal, 100 for linear).
    package var curveCount: Int?
    /// How scores are computed (`calibration.precision`).
    package var precision: ScorePrecision
    /// How pooled scores become thresholds (`calibration.quantile`: conformal or linear).
    package var rule: QuantileRule
    /// Which images choose data-driven groups (`calibration.group_split`: `auto` for the rule's
    /// default, `none` for all images, or a fraction in (0, 1)).
    package var groupSplit: GroupSplit?
    /// What a pool that cannot reach a level takes (`calibration.fallback`: none, group or image).
    package var fallback: ThresholdFallback
    /// The seed of the strategy's draws and of the group split (`calibration.seed`).
    package var seed: UInt64

    /// Reads the section, every value checked against the configuration schema (`kandinsky help-config`).
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    package init(config: Config) throws {
        try ConfigSchema.checkConditions(config)
        grouping = try Self.grouping(config: config)
        seed = try config.value(\.calibration.seed)
        curveCount = try config.value(\.calibration.curveCount)
        precision = try config.value(\.calibration.precision)
        rule = try config.value(\.calibration.quantile)
        // Checked by the schema's conditions above.
        groupSplit = (try? GroupSplitSetting(try config.value(\.calibration.groupSplit)))?.split ?? nil
        fallback = try config.value(\.calibration.fallback)
    }

    /// The strategy `method` (nil: `calibration.method`) with its parameters from the section;
    /// every key is read (and so checked) whichever the method, and a parameter the configuration
    /// has no key for (`maxIterations`, `searchSampleSize`) keeps its strategy's default.
    package static func grouping(config: Config, method: GroupingSpecification.Method? = nil) throws(ConfigError)
        -> GroupingSpecification
    {
        let method = if let method { method } else { try config.value(\.calibration.method) }
        let classes = try config.value(\.calibration.classes)
        let curvePoints = try config.value(\.calibration.curvePoints)
        let clusterCount = try config.value(\.calibration.clusters)
        let restarts = try config.value(\.calibration.restarts)
        let bounds = try config.value(\.calibration.bounds)
        let populationSize = try config.value(\.calibration.populationSize)
        let differentialWeight = try config.value(\.calibration.mutation)
        let crossoverProbability = try config.value(\.calibration.crossover)
        let maxGenerations = try config.value(\.calibration.maxGenerations)
        let tolerance = try config.value(\.calibration.tolerance)
        let seed = try config.value(\.calibration.seed)
        let kmeans = KMeansGrouping.Parameters(
            classes: classes, clusterCount: clusterCount, curvePoints: curvePoints,
            restarts: restarts,
            maxIterations: KMeansGrouping.Parameters.default.maxIterations, seed: seed)
        let annulus = AnnulusGrouping.Parameters(
            classes: classes, curvePoints: curvePoints, bounds: bounds,
            populationSize: populationSize, differentialWeight: differentialWeight,
            crossoverProbability: crossoverProbability,
            maxGenerations: maxGenerations, tolerance: tolerance, seed: seed,
            searchSampleSize: AnnulusGrouping.Parameters.default.searchSampleSize,
            theta: nil)
        return GroupingSpecification(method: method, kmeans: kmeans, annulus: annulus)
    }

    /// The rule, split and fallback in words, for reports: `conformal rule, kmeans/gen-ann groups
    /// from 50 % of the images, thresholds from the rest, fallback none`.
    package var description: String {
        let split: String =
            switch groupSplit ?? .default(for: rule) {
            case .allImages: "groups and thresholds from all images"
            case .fraction(let f):
                String(format: "kmeans/gen-ann groups from %.0f %% of the images, thresholds from the rest", 100 * f)
            }
        return "\(rule.rawValue) rule, \(split), fallback \(fallback.rawValue)"
    }

    /// Calibrates `scores` with these settings.
    package func calibrate(_ scores: ScoreStore) throws(CalibrationError) -> CalibratedCurves {
        try grouping.makeGrouping().calibrate(
            scores, levelCount: curveCount, rule: rule, groupSplit: groupSplit,
            fallback: fallback, seed: seed)
    }
}

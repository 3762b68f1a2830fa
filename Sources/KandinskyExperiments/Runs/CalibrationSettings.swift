import KandinskyCalibration

/// The `calibration:` section of a configuration.
public struct CalibrationSettings: Sendable {
    /// The strategy and its parameters (`calibration.method`, `classes`, `n_clusters`, …).
    public var grouping: GroupingSpecification
    /// Q, the number of curve points (`calibration.curve_count`); nil for the rule's default
    /// (101 for conformal, 100 for linear).
    public var curveCount: Int?
    /// How scores are computed (`calibration.precision`).
    public var precision: ScorePrecision
    /// How pooled scores become thresholds (`calibration.quantile`: conformal or linear).
    public var rule: QuantileRule
    /// Which images choose data-driven groups (`calibration.group_split`: `auto` for the rule's
    /// default, `none` for all images, or a fraction in (0, 1)).
    public var groupSplit: GroupSplit?
    /// What a pool that cannot reach a level takes (`calibration.fallback`: none, group or image).
    public var fallback: ThresholdFallback
    /// The seed of the strategy's draws and of the group split (`calibration.seed`).
    public var seed: UInt64

    /// Reads the section, every value checked against the configuration schema (`kandinsky help-config`).
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    public init(config: Config) throws {
        try ConfigSchema.checkConditions(config)
        var grouping = GroupingSpecification(method: try config.value(\.calibration.method))
        grouping.classes = try config.value(\.calibration.classes)
        grouping.curvePoints = try config.value(\.calibration.curvePoints)
        grouping.clusterCount = try config.value(\.calibration.clusters)
        grouping.restarts = try config.value(\.calibration.restarts)
        grouping.bounds = try config.value(\.calibration.bounds)
        grouping.populationSize = try config.value(\.calibration.populationSize)
        grouping.differentialWeight = try config.value(\.calibration.mutation)
        grouping.crossoverProbability = try config.value(\.calibration.crossover)
        grouping.maxGenerations = try config.value(\.calibration.maxGenerations)
        grouping.tolerance = try config.value(\.calibration.tolerance)
        grouping.seed = try config.value(\.calibration.seed)
        self.grouping = grouping
        seed = grouping.seed
        curveCount = try config.value(\.calibration.curveCount)
        precision = try config.value(\.calibration.precision)
        rule = try config.value(\.calibration.quantile)
        // Checked by the schema's conditions above.
        groupSplit = (try? GroupSplitSetting(try config.value(\.calibration.groupSplit)))?.split ?? nil
        fallback = try config.value(\.calibration.fallback)
    }

    /// The rule, split and fallback in words, for reports: `conformal rule, kmeans/gen-ann groups
    /// from 50 % of the images, thresholds from the rest, fallback none`.
    public var description: String {
        let split: String = switch groupSplit ?? .default(for: rule) {
        case .allImages: "groups and thresholds from all images"
        case .fraction(let f): String(format: "kmeans/gen-ann groups from %.0f %% of the images, thresholds from the rest", 100 * f)
        }
        return "\(rule.rawValue) rule, \(split), fallback \(fallback.rawValue)"
    }

    /// Calibrates `scores` with these settings.
    public func calibrate(_ scores: ScoreStore) throws(CalibrationError) -> CalibratedCurves {
        try grouping.makeGrouping().calibrate(scores, levelCount: curveCount, rule: rule, groupSplit: groupSplit,
                                              fallback: fallback, seed: seed)
    }
}

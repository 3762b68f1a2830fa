import KandinskyCalibration

/// The `calibration:` section of a configuration.
public struct CalibrationSettings: Sendable {
    /// The strategy and its parameters (`calibration.method`, `class_idx`, `n_clusters`, …).
    public var grouping: GroupingSpecification
    /// Q, the number of curve points.
    public var curveCount: Int
    /// How scores are computed (`calibration.precision`).
    public var precision: ScorePrecision

    /// Reads the section, every value checked against the configuration schema (`kandinsky help-config`).
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    public init(config: Config) throws {
        try ConfigSchema.checkConditions(config)
        var grouping = GroupingSpecification(method: try config.value(\.calibration.method))
        grouping.classIndex = try config.value(\.calibration.classIndex)
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
        curveCount = try config.value(\.calibration.curveCount)
        precision = try config.value(\.calibration.precision)
    }
}

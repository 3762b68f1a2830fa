import KandinskyCalibration

/// The `calibration:` section of a configuration.
public struct CalibrationSettings: Sendable {
    /// The strategy and its parameters (`calibration.method`, `class_idx`, `n_clusters`, …).
    public var grouping: GroupingSpecification
    /// Q, the number of curve points.
    public var curveCount: Int
    /// How scores are computed (`calibration.precision`).
    public var precision: ScorePrecision

    /// Reads the section.
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or an unknown method.
    public init(config: Config) throws {
        let methodName = try config.string("calibration.method")
        guard let method = GroupingSpecification.Method(rawValue: methodName) else {
            throw ConfigError.wrongType("calibration.method", expected: GroupingSpecification.Method.allCases.map(\.rawValue).joined(separator: ", "), found: methodName)
        }
        var grouping = GroupingSpecification(method: method)
        grouping.classIndex = try config.int("calibration.class_idx")
        grouping.curvePoints = try config.ints("calibration.curve_points")
        grouping.clusterCount = try config.int("calibration.n_clusters")
        grouping.restarts = try config.int("calibration.kmeans_restarts")
        grouping.bounds = try config.doubleMatrix("calibration.bounds")
        grouping.populationSize = try config.int("calibration.pop_size")
        grouping.differentialWeight = try config.double("calibration.mutation_factor")
        grouping.crossoverProbability = try config.double("calibration.crossover_factor")
        grouping.maxGenerations = try config.int("calibration.max_generations")
        grouping.tolerance = try config.double("calibration.tol")
        grouping.seed = UInt64(try config.int("calibration.seed"))
        guard grouping.bounds.count == 5, grouping.bounds.allSatisfy({ $0.count == 2 && $0[0] <= $0[1] }) else {
            throw ConfigError.wrongType("calibration.bounds", expected: "five [low, high] pairs for cx, cy, r1, r2, r3", found: "\(grouping.bounds)")
        }
        self.grouping = grouping
        curveCount = try config.int("calibration.curve_count")
        let precisionName = try config.string("calibration.precision")
        guard let precision = ScorePrecision(rawValue: precisionName) else {
            throw ConfigError.wrongType("calibration.precision", expected: ScorePrecision.allCases.map(\.rawValue).joined(separator: " or "), found: precisionName)
        }
        self.precision = precision
    }
}

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

    /// Reads the section.
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or an unknown method.
    public init(config: Config) throws {
        let methodName = try config.string("calibration.method")
        guard let method = GroupingSpecification.Method(rawValue: methodName) else {
            throw ConfigError.wrongType("calibration.method", expected: GroupingSpecification.Method.allCases.map(\.rawValue).joined(separator: ", "), found: methodName)
        }
        var grouping = GroupingSpecification(method: method)
        grouping.classes = config.isNull("calibration.classes") ? nil : try config.ints("calibration.classes")
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
        seed = grouping.seed
        curveCount = try config.optionalInt("calibration.curve_count")
        let precisionName = try config.string("calibration.precision")
        guard let precision = ScorePrecision(rawValue: precisionName) else {
            throw ConfigError.wrongType("calibration.precision", expected: ScorePrecision.allCases.map(\.rawValue).joined(separator: " or "), found: precisionName)
        }
        self.precision = precision
        let ruleName = try config.optionalString("calibration.quantile") ?? QuantileRule.conformal.rawValue
        guard let rule = QuantileRule(rawValue: ruleName) else {
            throw ConfigError.wrongType("calibration.quantile", expected: "conformal or linear", found: ruleName)
        }
        self.rule = rule
        let splitText = try config.optionalString("calibration.group_split") ?? "auto"
        switch splitText {
        case "auto": groupSplit = nil
        case "none": groupSplit = .allImages
        default:
            guard let fraction = Double(splitText), fraction > 0, fraction < 1 else {
                throw ConfigError.wrongType("calibration.group_split", expected: "auto, none or a fraction in (0, 1)", found: splitText)
            }
            groupSplit = .fraction(fraction)
        }
        let fallbackName = try config.optionalString("calibration.fallback") ?? ThresholdFallback.none.rawValue
        guard let fallback = ThresholdFallback(rawValue: fallbackName) else {
            throw ConfigError.wrongType("calibration.fallback", expected: "none, group or image", found: fallbackName)
        }
        self.fallback = fallback
    }

    /// The rule, split and fallback in words, for reports: `conformal rule, kmeans/gen-ann groups
    /// from 50 % of the images, no fallback`.
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

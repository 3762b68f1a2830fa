/// A built-in grouping strategy chosen at run time (by a command-line option or a configuration
/// file), with every parameter any of them takes.
///
/// This is the one place where a method name becomes a strategy; the calibrator itself is
/// generic and never asks which strategy it runs. Parameters a method does not use are ignored.
public struct GroupingSpecification: Sendable, Equatable {
    /// The built-in methods, by the names the original project and the command line use.
    public enum Method: String, Sendable, CaseIterable, Codable {
        case pixel
        case image
        case kmeans
        case genAnn = "gen-ann"
    }

    /// The strategy to build.
    public var method: Method
    /// The classes grouped by `kmeans` and `gen-ann`; nil for every class (the default). `[1]`
    /// reproduces the original, which grouped the foreground only.
    public var classes: [Int]? = nil
    /// Curve indices used as pixel features by `kmeans` and `gen-ann`.
    public var curvePoints = [60, 70, 80, 90]
    /// k of `kmeans`.
    public var clusterCount = 4
    /// Seeded restarts of `kmeans`.
    public var restarts = 10
    /// Bounds of (cx, cy, r1, r2, r3) for `gen-ann`.
    public var bounds = AnnulusGrouping.defaultBounds
    /// The differential-evolution population size of `gen-ann`.
    public var populationSize = 10
    /// F of `gen-ann`'s rand/1 mutation.
    public var differentialWeight = 0.8
    /// CR of `gen-ann`'s binomial crossover.
    public var crossoverProbability = 0.7
    /// The generation limit of `gen-ann`.
    public var maxGenerations = 1000
    /// `gen-ann` stops when the population's fitness spread falls below this.
    public var tolerance = 0.5
    /// Pixels of the subsampled objective used while searching (nil: exact evaluations).
    public var searchSampleSize: Int? = 4096
    /// Seed of k-means++ and differential evolution.
    public var seed: UInt64 = 0

    /// A specification of `method` with the original project's defaults for every parameter.
    public init(method: Method) {
        self.method = method
    }

    /// The strategy.
    public func makeGrouping() -> any NonconformityGrouping {
        switch method {
        case .pixel:
            PixelwiseGrouping()
        case .image:
            ImagewiseGrouping()
        case .kmeans:
            KMeansGrouping(classes: classes, clusterCount: clusterCount, curvePoints: curvePoints,
                           restarts: restarts, seed: seed)
        case .genAnn:
            AnnulusGrouping(classes: classes, curvePoints: curvePoints, bounds: bounds,
                            populationSize: populationSize, differentialWeight: differentialWeight,
                            crossoverProbability: crossoverProbability, maxGenerations: maxGenerations,
                            tolerance: tolerance, seed: seed, searchSampleSize: searchSampleSize)
        }
    }
}

extension NonconformityGrouping {
    /// Calibrates `scores` with this strategy; the parameters are those of
    /// ``Calibrator/init(grouping:levelCount:rule:groupSplit:fallback:seed:)``.
    ///
    /// Called on an `any NonconformityGrouping` (a strategy chosen at run time), this opens the
    /// existential so the generic ``Calibrator`` runs specialised for the concrete strategy.
    public func calibrate(_ scores: ScoreStore, levelCount: Int? = nil, rule: QuantileRule = .conformal,
                          groupSplit: GroupSplit? = nil, fallback: ThresholdFallback = .none,
                          seed: UInt64 = 0) throws(CalibrationError) -> CalibratedCurves {
        try Calibrator(grouping: self, levelCount: levelCount, rule: rule, groupSplit: groupSplit, fallback: fallback,
                       seed: seed).calibrate(scores)
    }
}

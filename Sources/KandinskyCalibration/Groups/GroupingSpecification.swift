/// A built-in grouping strategy chosen at run time (by a command-line option or a configuration
/// file), with the strategy's own parameters.
///
/// This is the one place where a method name becomes a strategy; the calibrator itself is
/// generic and never asks which strategy it runs. The data-driven strategies carry their
/// ``KMeansGrouping/Parameters`` or ``AnnulusGrouping/Parameters``, whose `.default` is the
/// one copy of their defaults.
public enum GroupingSpecification: Sendable, Equatable {
    /// Every pixel its own curve (``PixelwiseGrouping``).
    case pixel
    /// One curve per class over all its pixels (``ImagewiseGrouping``).
    case image
    /// Clusters of pixels with similar curves (``KMeansGrouping``).
    case kmeans(KMeansGrouping.Parameters)
    /// Annuli found by differential evolution (``AnnulusGrouping``).
    case genAnn(AnnulusGrouping.Parameters)

    /// The built-in methods, by the names the original project and the command line use.
    public enum Method: String, Sendable, CaseIterable, Codable {
        case pixel
        case image
        case kmeans
        case genAnn = "gen-ann"
    }

    /// `method`, with `kmeans` as its parameters when it is `kmeans` and `annulus` when it is
    /// `gen-ann` (the other is ignored).
    package init(method: Method, kmeans: KMeansGrouping.Parameters, annulus: AnnulusGrouping.Parameters) {
        switch method {
        case .pixel: self = .pixel
        case .image: self = .image
        case .kmeans: self = .kmeans(kmeans)
        case .genAnn: self = .genAnn(annulus)
        }
    }

    /// `method` with its strategy's default parameters, seeded by `seed` (k-means++ and
    /// differential evolution; `pixel` and `image` draw nothing).
    public init(method: Method, seed: UInt64 = 0) {
        var kmeans = KMeansGrouping.Parameters.default
        var annulus = AnnulusGrouping.Parameters.default
        (kmeans.seed, annulus.seed) = (seed, seed)
        self.init(method: method, kmeans: kmeans, annulus: annulus)
    }

    /// The method's name.
    public var method: Method {
        switch self {
        case .pixel: .pixel
        case .image: .image
        case .kmeans: .kmeans
        case .genAnn: .genAnn
        }
    }

    /// The classes the strategy groups (nil: every class); nil for `pixel` and `image`, which
    /// treat every class alike.
    package var classes: [Int]? {
        switch self {
        case .pixel, .image: nil
        case .kmeans(let parameters): parameters.classes
        case .genAnn(let parameters): parameters.classes
        }
    }

    /// The strategy.
    public func makeGrouping() -> any NonconformityGrouping {
        switch self {
        case .pixel:
            PixelwiseGrouping()
        case .image:
            ImagewiseGrouping()
        case .kmeans(let parameters):
            KMeansGrouping(parameters: parameters)
        case .genAnn(let parameters):
            AnnulusGrouping(parameters: parameters)
        }
    }
}

extension NonconformityGrouping {
    /// Calibrates `scores` with this strategy; the parameters are those of
    /// ``Calibrator/init(grouping:levelCount:rule:groupSplit:fallback:seed:)``.
    ///
    /// Called on an `any NonconformityGrouping` (a strategy chosen at run time), this opens the
    /// existential so the generic ``Calibrator`` runs specialised for the concrete strategy.
    public func calibrate(
        _ scores: ScoreStore, levelCount: Int? = nil, rule: QuantileRule = .conformal,
        groupSplit: GroupSplit? = nil, fallback: ThresholdFallback = .none,
        seed: UInt64 = 0
    ) throws(CalibrationError) -> CalibratedCurves {
        try Calibrator(
            grouping: self, levelCount: levelCount, rule: rule, groupSplit: groupSplit, fallback: fallback,
            seed: seed
        ).calibrate(scores)
    }
}

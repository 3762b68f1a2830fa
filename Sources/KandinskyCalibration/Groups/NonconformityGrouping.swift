/// A strategy that decides, per class, which pixel locations share one non-conformity curve.
///
/// The calibrator asks the strategy for ``PixelGroups`` and then, for every grouped class,
/// pools all scores of each group (all calibration images × all pixels of the group), computes
/// the group's quantile curve and writes it into every pixel of the group; pixelwise classes
/// keep their own curves. The calibrator never inspects which strategy it runs, so a type of
/// your own that conforms to this protocol is used exactly like the built-in ones
/// (``PixelwiseGrouping``, ``ImagewiseGrouping``, ``KMeansGrouping``, ``AnnulusGrouping``).
///
/// Conformers must be deterministic: the same input and parameters (including any seed among
/// the parameters) give the same groups.
public protocol NonconformityGrouping: Sendable {
    /// The strategy's parameters, recorded as JSON in the calibrated-model file.
    associatedtype Parameters: Encodable & Sendable

    /// The method name recorded in the calibrated-model file (`pixel`, `image`, `kmeans`, …).
    var name: String { get }

    /// The parameters that determine the groups.
    var parameters: Parameters { get }

    /// Whether ``groups(for:)`` looks at the scores (true for k-means and the annulus search,
    /// false for the pixelwise and imagewise strategies). The calibrator gives such a strategy
    /// only part of the images (``GroupSplit``), so that the thresholds set on the rest keep
    /// their guarantee. True by default: a strategy that does not say otherwise is assumed to
    /// depend on the data.
    var selectsGroupsFromScores: Bool { get }

    /// The groups of every class, for the scores (and pixelwise curves) in `input`.
    ///
    /// - Throws: ``CalibrationError`` when the parameters do not fit the data (for example a
    ///   class index out of range).
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups
}

extension NonconformityGrouping {
    /// True: a strategy is assumed to choose its groups from the scores unless it says otherwise.
    public var selectsGroupsFromScores: Bool { true }
}

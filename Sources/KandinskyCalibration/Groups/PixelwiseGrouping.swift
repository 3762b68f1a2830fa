/// Every (class, pixel) keeps its own curve: the thresholds of the scores observed at that pixel
/// over the calibration images. The most local strategy and the noisiest.
///
/// Guarantee (``QuantileRule/conformal``, calibration and test images exchangeable): for every
/// class c and pixel p, a test image with c at p has c in p's set with probability ≥ ℓ at every
/// stored level ℓ. The price: a pixel where c occurred in n calibration images reaches level ℓ
/// only when ⌈(n + 1)ℓ⌉ ≤ n (n ≥ 9 for ℓ = 0.9); below that the class is always in the set
/// there (+∞). Under ``QuantileRule/linear`` a pixel without scores gets NaN and never admits
/// the class, and pixels with few scores undercover.
public struct PixelwiseGrouping: NonconformityGrouping {
    /// No parameters.
    public struct Parameters: Codable, Sendable, Equatable {}

    /// The strategy (it has no parameters).
    public init() {}

    /// `pixel`.
    public var name: String { "pixel" }
    /// No parameters.
    public var parameters: Parameters { Parameters() }
    /// False: the groups do not depend on the data.
    public var selectsGroupsFromScores: Bool { false }

    /// All classes pixelwise.
    ///
    /// - Complexity: O(C).
    public func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        .pixelwise(classCount: input.scores.classCount)
    }
}

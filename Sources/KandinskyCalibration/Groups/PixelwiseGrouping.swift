/// Every (class, pixel) keeps its own curve: the quantiles of the scores observed at that pixel
/// over the calibration images. The most local strategy and the noisiest: a pixel that rarely
/// holds a class gets a curve from few scores (NaN from none).
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

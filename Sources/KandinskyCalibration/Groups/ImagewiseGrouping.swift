import KandinskyCore

/// Per class, all pixels share one curve: the thresholds of the class's scores pooled over all
/// images and all pixels. The least noisy strategy, and the one that ignores how the model's
/// miscalibration varies across the image.
///
/// Guarantee (``QuantileRule/conformal``, exchangeable images): for every class c, a test image
/// with targets of c has in expectation at least ℓ of those pixels' sets containing c (each
/// image weighs the same, whatever the size of its objects; pooling pixels instead would favour
/// large objects). It needs n ≥ ⌈1/(1 − ℓ)⌉ − 1 images with the class to reach level ℓ.
public struct ImagewiseGrouping: NonconformityGrouping {
    /// No parameters.
    public struct Parameters: Codable, Sendable, Equatable {}

    /// The strategy (it has no parameters).
    public init() {}

    /// `image`.
    public var name: String { "image" }
    /// No parameters.
    public var parameters: Parameters { Parameters() }
    /// False: the groups do not depend on the data.
    public var selectsGroupsFromScores: Bool { false }

    /// One group (id 0) per class.
    ///
    /// - Complexity: O(C·H·W).
    public func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let scores = input.scores
        let single = ShapedArray<Int32>(shape: [scores.height, scores.width], repeating: 0)
        return PixelGroups(
            labels: Array(repeating: single, count: scores.classCount),
            groupCounts: Array(repeating: 1, count: scores.classCount))
    }
}

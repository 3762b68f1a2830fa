/// How a non-conformity score s = 1 − p is computed from a probability p.
public enum ScorePrecision: String, Sendable, CaseIterable, Codable {
    /// s = 1 − p in Float32, then stored as the smallest Float16 ≥ s (scores near 0, the ones
    /// that matter for high confidence, keep their relative precision). Rounding up, never to
    /// nearest, keeps the conformal guarantee: test scores are compared unrounded, and a stored
    /// score below the true one could make a threshold too tight. Quantiles interpolate in
    /// Float32. The default.
    case float
    /// Reproduces the original Python implementation: p is first rounded to Float16 and 1 − p is
    /// computed in Float16, so every p > 0.99976 gives a score of exactly 0. Quantiles round the
    /// interpolation difference to Float16, as numpy does for a Float16 array.
    case halfProbabilities = "half-probabilities"

    /// The score of a probability, in this precision, widened to Float32.
    @inlinable
    public func score(probability p: Float) -> Float {
        Float(halfScore(probability: p))
    }

    /// The score of a probability as the Float16 that is stored.
    @inlinable
    package func halfScore(probability p: Float) -> Float16 {
        switch self {
        case .float: Self.halfRoundedUp(1 - p)
        case .halfProbabilities: 1 - Float16(p)
        }
    }

    /// The smallest Float16 that is ≥ `x` (NaN stays NaN).
    @inlinable
    static func halfRoundedUp(_ x: Float) -> Float16 {
        let nearest = Float16(x)
        return Float(nearest) < x ? nearest.nextUp : nearest
    }

    /// The score used when comparing against a threshold at test time: not rounded to Float16 in
    /// `float` precision (the rounding only serves compact storage), rounded as the original did
    /// in `half-probabilities` precision.
    @inlinable
    public func testScore(probability p: Float) -> Float {
        switch self {
        case .float: 1 - p
        case .halfProbabilities: Float(1 - Float16(p))
        }
    }
}

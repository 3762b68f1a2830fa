import KandinskyCore
import Testing

/// What a tolerance is multiplied by in ``expectClose(_:_:tolerance:scale:_:sourceLocation:)``.
public enum ToleranceScale: Sendable {
    /// Each element on its own: |a − e| ≤ t · (1 + |e|), absolute near 0 and relative for large
    /// values; NaN matches NaN only. For values computed independently of one another
    /// (quantiles, per-pixel errors).
    case eachExpected
    /// The largest expected magnitude: max |a − e| ≤ t · max(max |e|, floor). For the outputs of
    /// long sums (convolutions, gradients), whose small entries carry the rounding error of the
    /// large ones; `floor` keeps an all-zero expectation from demanding exact zeros.
    case largestExpected(floor: Double = 1e-6)
}

/// Expects `actual` to match `expected` element by element within `tolerance` times `scale`,
/// naming `what` and up to five mismatches at the caller's line.
public func expectClose(
    _ actual: [Float], _ expected: [Double], tolerance: Double,
    scale: ToleranceScale = .eachExpected, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)",
        sourceLocation: sourceLocation)
    switch scale {
    case .eachExpected:
        var mismatches = 0
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let ok = e.isNaN ? a.isNaN : (!a.isNaN && abs(Double(a) - e) <= tolerance * (1 + abs(e)))
            if !ok {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("\(what)[\(i)] = \(a), expected \(e)", sourceLocation: sourceLocation)
                }
            }
        }
    case .largestExpected(let floor):
        var worst = 0.0
        var worstIndex = 0
        var largest = floor
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let difference = abs(Double(a) - e)
            if !worst.isNaN && (difference.isNaN || difference > worst) { (worst, worstIndex) = (difference, i) }
            largest = max(largest, abs(e))
        }
        // A NaN on either side is the worst difference.
        #expect(
            worst <= tolerance * largest,
            "\(what): max difference \(worst) at [\(worstIndex)] exceeds \(tolerance) × \(largest)",
            sourceLocation: sourceLocation)
    }
}

/// ``expectClose(_:_:tolerance:scale:_:sourceLocation:)`` on two tensors, which must have one
/// shape; by default against the largest expected magnitude.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, tolerance: Double,
    scale: ToleranceScale = .largestExpected(), _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.shape == expected.shape, "\(what): shape \(actual.shape) ≠ \(expected.shape)",
        sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    expectClose(
        actual.scalars, expected.scalars.map(Double.init), tolerance: tolerance, scale: scale, what,
        sourceLocation: sourceLocation)
}

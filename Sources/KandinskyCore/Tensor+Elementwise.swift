import Foundation

extension Tensor {
    /// A tensor of zeros.
    @inlinable
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    /// A tensor of ones.
    @inlinable
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// Combines two tensors of equal shape element by element.
    @inlinable
    public func zipMap(_ other: Tensor, _ combine: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        return Tensor(shape: shape) { destination in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { destination[i] = combine(a[i], b[i]) }
                }
            }
        }
    }

    /// Updates every element in place.
    @inlinable
    public mutating func mapInPlace(_ transform: (Float) -> Float) {
        withUnsafeMutableBufferPointer { buffer in
            for i in 0..<buffer.count { buffer[i] = transform(buffer[i]) }
        }
    }

    /// Elementwise sum.
    ///
    /// - Precondition: equal shapes.
    /// - Complexity: O(count).
    @inlinable public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipMap(rhs, +) }
    /// Elementwise difference.
    ///
    /// - Precondition: equal shapes.
    @inlinable public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipMap(rhs, -) }
    /// Elementwise (Hadamard) product, not a matrix product (see `matmul`).
    ///
    /// - Precondition: equal shapes.
    @inlinable public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipMap(rhs, *) }
    /// Elementwise quotient (IEEE division: x/0 is ±inf or NaN).
    ///
    /// - Precondition: equal shapes.
    @inlinable public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipMap(rhs, /) }
    /// Adds a scalar to every element.
    @inlinable public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 + rhs } }
    /// Subtracts a scalar from every element.
    @inlinable public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 - rhs } }
    /// Multiplies every element by a scalar.
    @inlinable public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 * rhs } }
    /// Divides every element by a scalar.
    @inlinable public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 / rhs } }
    /// A scalar plus every element.
    @inlinable public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs + $0 } }
    /// A scalar minus every element (for example `1 - p`, the non-conformity score of probabilities).
    @inlinable public static func - (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
    /// A scalar times every element.
    @inlinable public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    /// Every element negated.
    @inlinable public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }
    /// Adds `rhs` elementwise in place, without allocating.
    ///
    /// - Precondition: equal shapes.
    @inlinable public static func += (lhs: inout Tensor, rhs: Tensor) {
        precondition(lhs.shape == rhs.shape, "shapes \(lhs.shape) and \(rhs.shape) differ")
        rhs.withUnsafeBufferPointer { b in
            lhs.withUnsafeMutableBufferPointer { a in for i in 0..<a.count { a[i] += b[i] } }
        }
    }
    /// Multiplies every element by a scalar in place.
    @inlinable public static func *= (lhs: inout Tensor, rhs: Float) { lhs.mapInPlace { $0 * rhs } }

    /// eˣ element by element.
    public func exp() -> Tensor { map { Foundation.exp($0) } }
    /// The natural logarithm element by element (−∞ at 0, NaN below).
    public func log() -> Tensor { map { Foundation.log($0) } }
    /// 1 / (1 + e⁻ˣ), evaluated without overflow for large |x|.
    public func sigmoid() -> Tensor { map(Tensor.sigmoid) }
    /// Each element limited to `[lower, upper]`; NaN stays NaN.
    public func clamped(to range: ClosedRange<Float>) -> Tensor {
        map { $0.isNaN ? $0 : Swift.min(Swift.max($0, range.lowerBound), range.upperBound) }
    }

    /// The logistic function of one value, stable for large |x|.
    @inlinable
    public static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }

    /// A mask that is `true` where `predicate` holds.
    @inlinable
    public func mask(where predicate: (Float) -> Bool) -> ShapedArray<Bool> { map(predicate) }
    /// `self > value` element by element.
    public func greater(than value: Float) -> ShapedArray<Bool> { mask { $0 > value } }
    /// `self < value` element by element.
    public func less(than value: Float) -> ShapedArray<Bool> { mask { $0 < value } }
    /// `self == value` element by element.
    public func equal(to value: Float) -> ShapedArray<Bool> { mask { $0 == value } }
    /// `self <= other` element by element, for tensors of equal shape.
    public func lessOrEqual(_ other: Tensor) -> ShapedArray<Bool> {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        return ShapedArray<Bool>(shape: shape) { destination in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in for i in 0..<a.count { destination[i] = a[i] <= b[i] } }
            }
        }
    }

    /// Whether every pair of elements is within `absoluteTolerance + relativeTolerance · |other|`
    /// (numpy's `allclose`); NaNs compare equal to NaNs.
    public func isApproximatelyEqual(to other: Tensor, relativeTolerance: Float = 1e-5, absoluteTolerance: Float = 1e-6)
        -> Bool
    {
        guard shape == other.shape else { return false }
        return withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                (0..<a.count).allSatisfy { i in
                    if a[i].isNaN || b[i].isNaN { return a[i].isNaN && b[i].isNaN }
                    return abs(a[i] - b[i]) <= absoluteTolerance + relativeTolerance * abs(b[i])
                }
            }
        }
    }
}

extension ShapedArray<Bool> {
    /// The mask as a tensor of 0 and 1.
    public var asTensor: Tensor { map { $0 ? 1 : 0 } }
    /// The number of `true` elements.
    public var trueCount: Int { withUnsafeBufferPointer { $0.reduce(0) { $0 + ($1 ? 1 : 0) } } }
}

extension Tensor {
    /// Splits the shape around `axis` into (outer, axis extent, inner) block sizes.
    @usableFromInline
    func blocks(around axis: Int) -> (outer: Int, extent: Int, inner: Int) {
        precondition(axis >= 0 && axis < rank, "axis \(axis) is out of range for shape \(shape)")
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Folds `axis` away: result element (o, i) combines input elements (o, 0…extent−1, i).
    @usableFromInline
    func reduce<R: BitwiseCopyable>(
        alongAxis axis: Int, keepingDimension keep: Bool,
        _ fold: (UnsafeBufferPointer<Float>, _ start: Int, _ stride: Int, _ extent: Int) -> R
    ) -> ShapedArray<R> {
        let (outer, extent, inner) = blocks(around: axis)
        var newShape = shape
        if keep { newShape[axis] = 1 } else { newShape.remove(at: axis) }
        return ShapedArray<R>(shape: newShape) { destination in
            withUnsafeBufferPointer { source in
                for o in 0..<outer {
                    for i in 0..<inner {
                        destination[o * inner + i] = fold(source, o * extent * inner + i, inner, extent)
                    }
                }
            }
        }
    }

    /// The sum of all elements (accumulated in Double).
    public func sum() -> Float {
        withUnsafeBufferPointer { Float($0.reduce(0.0) { $0 + Double($1) }) }
    }

    /// The mean of all elements (NaN for an empty tensor).
    public func mean() -> Float { sum() / Float(count) }

    /// The largest element (NaN if any element is NaN or the tensor is empty).
    public func max() -> Float {
        withUnsafeBufferPointer { b in
            guard var best = b.first else { return .nan }
            for v in b {
                if v.isNaN { return .nan }
                if v > best { best = v }
            }
            return best
        }
    }

    /// Sums along `axis` (accumulated in Double).
    public func sum(alongAxis axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        reduce(alongAxis: axis, keepingDimension: keep) { b, start, stride, extent in
            var total = 0.0
            for k in 0..<extent { total += Double(b[start + k * stride]) }
            return Float(total)
        }
    }

    /// Means along `axis`.
    public func mean(alongAxis axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        let extent = Float(shape[axis])
        return sum(alongAxis: axis, keepingDimension: keep) / extent
    }

    /// The mean of the non-NaN elements along `axis`; NaN where all are NaN (numpy's `nanmean`).
    public func nanMean(alongAxis axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        reduce(alongAxis: axis, keepingDimension: keep) { b, start, stride, extent in
            var total = 0.0
            var n = 0
            for k in 0..<extent {
                let v = b[start + k * stride]
                if !v.isNaN {
                    total += Double(v)
                    n += 1
                }
            }
            return n == 0 ? Float.nan : Float(total / Double(n))
        }
    }

    /// The mean of the non-NaN elements; NaN when there are none.
    public func nanMean() -> Float {
        reshaped(to: [count]).nanMean(alongAxis: 0)[]
    }

    /// Maxima along `axis`; NaN propagates.
    public func max(alongAxis axis: Int, keepingDimension keep: Bool = false) -> Tensor {
        reduce(alongAxis: axis, keepingDimension: keep) { b, start, stride, extent in
            var best = -Float.infinity
            for k in 0..<extent {
                let v = b[start + k * stride]
                if v.isNaN { return .nan }
                if v > best { best = v }
            }
            return best
        }
    }

    /// The index of the maximum along `axis` (the first one on ties; a NaN counts as the maximum,
    /// as numpy's `argmax`).
    public func argmax(alongAxis axis: Int, keepingDimension keep: Bool = false) -> ShapedArray<Int> {
        reduce(alongAxis: axis, keepingDimension: keep) { b, start, stride, extent in
            var best = 0
            var bestValue = b[start]
            if bestValue.isNaN { return 0 }
            for k in 1..<Swift.max(extent, 1) {
                let v = b[start + k * stride]
                if v.isNaN { return k }
                if v > bestValue {
                    best = k
                    bestValue = v
                }
            }
            return best
        }
    }
}

extension ShapedArray {
    /// The array with its axes reordered: axis `k` of the result is axis `permutation[k]` of
    /// `self`, as `numpy.transpose(a, permutation)`.
    ///
    /// - Complexity: O(count), one pass that writes the result contiguously.
    public func permuted(_ permutation: [Int]) -> ShapedArray {
        precondition(permutation.sorted() == Array(0..<rank),
                     "permutation \(permutation) is not a permutation of the axes of shape \(shape)")
        if permutation == Array(0..<rank) { return self }
        let newShape = permutation.map { shape[$0] }
        let sourceStrides = strides
        let gatherStrides = permutation.map { sourceStrides[$0] }
        return ShapedArray(shape: newShape) { destination in
            withUnsafeBufferPointer { source in
                // Iterate the destination in row-major order with the innermost axis unrolled.
                let inner = newShape.last ?? 1
                let innerStride = gatherStrides.last ?? 1
                let outerShape = Array(newShape.dropLast())
                let outerStrides = Array(gatherStrides.dropLast())
                var index = [Int](repeating: 0, count: outerShape.count)
                var sourceOffset = 0
                var written = 0
                let outerCount = Self.elementCount(of: outerShape)
                for _ in 0..<outerCount {
                    var s = sourceOffset
                    for i in 0..<inner {
                        destination[written + i] = source[s]
                        s += innerStride
                    }
                    written += inner
                    // Advance the odometer over the outer axes.
                    var axis = outerShape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        sourceOffset += outerStrides[axis]
                        if index[axis] < outerShape[axis] { break }
                        sourceOffset -= outerStrides[axis] * outerShape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }

    /// The matrix transpose of a rank-2 array.
    public var transposed: ShapedArray {
        precondition(rank == 2, "transposed needs a rank-2 array, got shape \(shape)")
        return permuted([1, 0])
    }

    /// The sub-array at `index` along the leading axis, of shape `shape.dropFirst()`.
    public subscript(leading index: Int) -> ShapedArray {
        precondition(rank >= 1, "cannot index a rank-0 array")
        precondition(index >= 0 && index < shape[0], "index \(index) is out of bounds for shape \(shape)")
        return self[leading: index..<(index + 1)].reshaped(to: Array(shape.dropFirst()))
    }

    /// The sub-array of rows `range` along the leading axis (a copy).
    public subscript(leading range: Range<Int>) -> ShapedArray {
        precondition(rank >= 1, "cannot slice a rank-0 array")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "range \(range) is out of bounds for shape \(shape)")
        var newShape = shape
        newShape[0] = range.count
        let rowSize = shape.dropFirst().reduce(1, *)
        return ShapedArray(shape: newShape) { destination in
            withUnsafeBufferPointer { source in
                guard rowSize * range.count > 0 else { return }
                destination.baseAddress!.initialize(from: source.baseAddress! + range.lowerBound * rowSize,
                                                    count: rowSize * range.count)
            }
        }
    }

    /// Concatenates arrays along `axis`; all other extents must agree.
    ///
    /// - Complexity: O(total count).
    public static func concatenate(_ parts: [ShapedArray], alongAxis axis: Int) -> ShapedArray {
        precondition(!parts.isEmpty, "cannot concatenate zero arrays")
        let first = parts[0].shape
        precondition(axis >= 0 && axis < first.count, "axis \(axis) is out of range for shape \(first)")
        for part in parts {
            precondition(part.rank == first.count && zip(part.shape, first).enumerated().allSatisfy { $0.offset == axis || $0.element.0 == $0.element.1 },
                         "cannot concatenate shape \(part.shape) with shape \(first) along axis \(axis)")
        }
        var newShape = first
        newShape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let outer = first[..<axis].reduce(1, *)
        let inner = first[(axis + 1)...].reduce(1, *)
        return ShapedArray(shape: newShape) { destination in
            var written = 0
            for o in 0..<outer {
                for part in parts {
                    let block = part.shape[axis] * inner
                    part.withUnsafeBufferPointer { source in
                        guard block > 0 else { return }
                        (destination.baseAddress! + written).initialize(from: source.baseAddress! + o * block, count: block)
                    }
                    written += block
                }
            }
        }
    }

    /// Applies `transform` to every element, keeping the shape.
    @inlinable
    public func map<Result: BitwiseCopyable>(_ transform: (Scalar) throws -> Result) rethrows -> ShapedArray<Result> {
        try ShapedArray<Result>(shape: shape) { destination in
            try withUnsafeBufferPointer { source in
                for i in 0..<source.count { destination[i] = try transform(source[i]) }
            }
        }
    }
}

extension ShapedArray where Scalar: BinaryFloatingPoint {
    /// Converts every element to another floating-point type (rounding to nearest even).
    @inlinable
    public func converted<Other: BinaryFloatingPoint & BitwiseCopyable>(to _: Other.Type = Other.self) -> ShapedArray<Other> {
        map { Other($0) }
    }
}

extension ShapedArray {
    /// The array with its axes reordered: axis `k` of the result is axis `permutation[k]` of
    /// `self`, as `numpy.transpose(a, permutation)`.
    ///
    /// Axes that stay adjacent and in order are merged first, so [N, C, H, W] → [N, H, W, C] is
    /// a batch of [C, H·W] transposes. Batched 2-D transposes copy 32 × 32 tiles (each tile's
    /// reads and writes stay in cache); other permutations walk the result in row-major order.
    ///
    /// - Complexity: O(count), one pass that writes the result contiguously.
    public func permuted(_ permutation: [Int]) -> ShapedArray {
        precondition(
            permutation.sorted() == Array(0..<rank),
            "permutation \(permutation) is not a permutation of the axes of shape \(shape)")
        if permutation == Array(0..<rank) { return self }
        let newShape = permutation.map { shape[$0] }
        return ShapedArray(shape: newShape) { destination in
            withUnsafeBufferPointer { source in
                guard count > 0 else { return }
                let from = UnsafeRawPointer(source.baseAddress!)
                let to = UnsafeMutableRawPointer(destination.baseAddress!)
                // Elements are moved as same-sized integers, so the copy loops are specialised
                // once per size rather than running generically over `Scalar`.
                switch MemoryLayout<Scalar>.stride {
                case 1: permuteElements(from, to, UInt8.self, shape: shape, permutation: permutation)
                case 2: permuteElements(from, to, UInt16.self, shape: shape, permutation: permutation)
                case 4: permuteElements(from, to, UInt32.self, shape: shape, permutation: permutation)
                case 8: permuteElements(from, to, UInt64.self, shape: shape, permutation: permutation)
                default: permuteElements(from, to, Scalar.self, shape: shape, permutation: permutation)
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
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[0],
            "range \(range) is out of bounds for shape \(shape)")
        var newShape = shape
        newShape[0] = range.count
        let rowSize = shape.dropFirst().reduce(1, *)
        return ShapedArray(shape: newShape) { destination in
            withUnsafeBufferPointer { source in
                guard rowSize * range.count > 0 else { return }
                destination.baseAddress!.initialize(
                    from: source.baseAddress! + range.lowerBound * rowSize,
                    count: rowSize * range.count)
            }
        }
    }

    /// The entries `indices` along `axis`, in that order (repeats allowed), as
    /// `numpy.take(a, indices, axis)`: the result's shape is `shape` with `shape[axis]` replaced by
    /// `indices.count`, and `result[…, j, …] = self[…, indices[j], …]`.
    ///
    /// Keeping some images of a batch is `gathering(kept, alongAxis: 0)`; cropping rows and
    /// columns is a gathering along each axis.
    ///
    /// - Precondition: `axis` is an axis and every index is in `0..<shape[axis]`.
    /// - Complexity: O(result count), one contiguous copy per index and outer position.
    public func gathering(_ indices: [Int], alongAxis axis: Int) -> ShapedArray {
        precondition(axis >= 0 && axis < rank, "axis \(axis) is out of range for shape \(shape)")
        let extent = shape[axis]
        for index in indices {
            precondition(
                index >= 0 && index < extent, "index \(index) is out of bounds for axis \(axis) of shape \(shape)")
        }
        var newShape = shape
        newShape[axis] = indices.count
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        return ShapedArray(shape: newShape) { destination in
            withUnsafeBufferPointer { source in
                guard inner > 0 else { return }
                var written = destination.baseAddress!
                for o in 0..<outer {
                    for index in indices {
                        written.initialize(from: source.baseAddress! + (o * extent + index) * inner, count: inner)
                        written += inner
                    }
                }
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
            precondition(
                part.rank == first.count
                    && zip(part.shape, first).enumerated().allSatisfy {
                        $0.offset == axis || $0.element.0 == $0.element.1
                    },
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
                        (destination.baseAddress! + written).initialize(
                            from: source.baseAddress! + o * block, count: block)
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
    public func converted<Other: BinaryFloatingPoint & BitwiseCopyable>(to _: Other.Type = Other.self) -> ShapedArray<
        Other
    > {
        map { Other($0) }
    }
}

/// Writes the elements of a row-major array of `shape` at `source`, with axes reordered by
/// `permutation`, to `destination` in row-major order.
func permuteElements<Element: BitwiseCopyable>(
    _ source: UnsafeRawPointer, _ destination: UnsafeMutableRawPointer, _: Element.Type,
    shape: [Int], permutation: [Int]
) {
    let src = source.assumingMemoryBound(to: Element.self)
    let dst = destination.assumingMemoryBound(to: Element.self)
    // Merge runs of source axes that stay adjacent and in order: (extent, first source axis).
    var groups: [(extent: Int, axis: Int)] = []
    var previous = -2
    for axis in permutation where shape[axis] != 1 {
        if axis == previous + 1, let last = groups.last {
            groups[groups.count - 1] = (last.extent * shape[axis], last.axis)
        } else {
            groups.append((shape[axis], axis))
        }
        previous = axis
    }
    // The merged source shape orders the groups by source axis; `order[k]` is the source
    // position of result axis k.
    let bySource = groups.indices.sorted { groups[$0].axis < groups[$1].axis }
    let mergedShape = bySource.map { groups[$0].extent }
    var order = [Int](repeating: 0, count: groups.count)
    for (position, group) in bySource.enumerated() { order[group] = position }
    let n = order.count
    if n <= 1 || order == Array(0..<n) {
        dst.initialize(from: src, count: mergedShape.reduce(1, *))
        return
    }
    if order == Array(0..<(n - 2)) + [n - 1, n - 2] {
        let rows = mergedShape[n - 2]
        let columns = mergedShape[n - 1]
        let batches = mergedShape[..<(n - 2)].reduce(1, *)
        for batch in 0..<batches {
            transposeTiled(src + batch * rows * columns, dst + batch * rows * columns, rows: rows, columns: columns)
        }
        return
    }
    // General case: walk the result in row-major order, gathering along the innermost axis.
    let sourceStrides = ShapedArray<Element>.strides(of: mergedShape)
    let resultShape = order.map { mergedShape[$0] }
    let gatherStrides = order.map { sourceStrides[$0] }
    let inner = resultShape[n - 1]
    let innerStride = gatherStrides[n - 1]
    var index = [Int](repeating: 0, count: n - 1)
    var sourceOffset = 0
    var written = 0
    let outerCount = resultShape.dropLast().reduce(1, *)
    for _ in 0..<outerCount {
        var s = sourceOffset
        for i in 0..<inner {
            (dst + written + i).initialize(to: src[s])
            s += innerStride
        }
        written += inner
        // Advance the odometer over the outer axes.
        var axis = n - 2
        while axis >= 0 {
            index[axis] += 1
            sourceOffset += gatherStrides[axis]
            if index[axis] < resultShape[axis] { break }
            sourceOffset -= gatherStrides[axis] * resultShape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// `destination[c · rows + r] = source[r · columns + c]`, 32 × 32 tiles at a time so that the
/// strided side of each tile stays in cache.
func transposeTiled<Element: BitwiseCopyable>(
    _ source: UnsafePointer<Element>, _ destination: UnsafeMutablePointer<Element>,
    rows: Int, columns: Int
) {
    let tile = 32
    for r0 in stride(from: 0, to: rows, by: tile) {
        let r1 = min(r0 + tile, rows)
        for c0 in stride(from: 0, to: columns, by: tile) {
            let c1 = min(c0 + tile, columns)
            for c in c0..<c1 {
                let out = destination + c * rows
                for r in r0..<r1 { (out + r).initialize(to: source[r * columns + c]) }
            }
        }
    }
}

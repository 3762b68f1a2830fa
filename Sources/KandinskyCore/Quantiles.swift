/// NaN-aware quantiles with numpy's default ("linear", Hyndman & Fan type 7) interpolation.
///
/// For the m non-NaN values v₍₀₎ ≤ … ≤ v₍ₘ₋₁₎ of a slice and a level q ∈ [0, 1], the virtual
/// index is g = (m − 1)·q (in Double), j = ⌊g⌋, t = g − j and the quantile is
/// `v₍ⱼ₎ + (v₍ⱼ₊₁₎ − v₍ⱼ₎)·t` when t < 0.5, `v₍ⱼ₊₁₎ − (v₍ⱼ₊₁₎ − v₍ⱼ₎)·(1 − t)` otherwise, with
/// the difference rounded to the input's precision first, exactly as `numpy.nanquantile`
/// evaluates it. A slice without non-NaN values gives NaN.
///
/// Only the order statistics that the levels need are placed, by recursive multi-selection,
/// so Q levels over m values cost O(m · log Q) rather than a sort per level.
public enum Quantiles {
    /// The levels k / (count − 1) for k = 0 … count − 1: `count` equally spaced points of [0, 1].
    public static func equallySpacedLevels(count: Int) -> [Double] {
        precondition(count >= 2, "at least two levels are needed, got \(count)")
        return (0..<count).map { Double($0) / Double(count - 1) }
    }

    /// Quantiles of the values in `values` at `levels`, written to `output[k · outputStride]`.
    ///
    /// NaNs must already be removed. The buffer is reordered in place. `Precision` is the type
    /// the values came from (it sets the rounding of the interpolation difference); pass
    /// `Float.self` for single-precision data.
    ///
    /// - Precondition: every level is in [0, 1] and the levels are ascending.
    /// - Complexity: O(m · log Q) expected for m values and Q levels.
    public static func compute<Precision: BinaryFloatingPoint>(
        ofNonNaN values: UnsafeMutableBufferPointer<Float>,
        levels: [Double],
        precision: Precision.Type = Float.self,
        into output: UnsafeMutablePointer<Float>,
        outputStride: Int = 1
    ) {
        let m = values.count
        guard m > 0 else {
            for k in levels.indices { output[k * outputStride] = .nan }
            return
        }
        // The order statistics the levels need, ascending and without repeats.
        var needed: [Int] = []
        needed.reserveCapacity(2 * levels.count)
        for q in levels {
            let (previous, next, _) = interpolationIndices(level: q, count: m)
            if needed.last != previous { needed.append(previous) }
            if needed.last != next { needed.append(next) }
        }
        if m <= 32 || m <= 4 * needed.count {
            var sorted = values
            sorted.sort()
        } else {
            multiSelect(values.baseAddress!, 0, m, needed[...])
        }
        for (k, q) in levels.enumerated() {
            let (previous, next, t) = interpolationIndices(level: q, count: m)
            let a = values[previous], b = values[next]
            let difference = Double(Precision(b - a))
            let value = t < 0.5 ? Double(a) + difference * t : Double(b) - difference * (1 - t)
            output[k * outputStride] = Float(value)
        }
    }

    /// numpy's neighbouring order statistics and weight for one level.
    @usableFromInline
    static func interpolationIndices(level q: Double, count m: Int) -> (Int, Int, Double) {
        precondition(q >= 0 && q <= 1, "quantile level \(q) is outside [0, 1]")
        let virtual = Double(m - 1) * q
        if virtual >= Double(m - 1) { return (m - 1, m - 1, virtual - (virtual.rounded(.down))) }
        let previous = Int(virtual.rounded(.down))
        return (previous, previous + 1, virtual - Double(previous))
    }

    /// Places the order statistics `ranks` (ascending, all in `lo..<hi`) at their positions.
    static func multiSelect(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ ranks: ArraySlice<Int>) {
        guard !ranks.isEmpty else { return }
        if hi - lo <= 32 {
            var run = UnsafeMutableBufferPointer(start: a + lo, count: hi - lo)
            run.sort()
            return
        }
        let middle = ranks[ranks.startIndex + ranks.count / 2]
        select(a, lo, hi, middle)
        multiSelect(a, lo, middle, ranks[..<(ranks.startIndex + ranks.count / 2)])
        multiSelect(a, middle + 1, hi, ranks[(ranks.startIndex + ranks.count / 2 + 1)...])
    }

    /// Quickselect (Hoare partition, median-of-three pivot): afterwards `a[k]` holds the k-th
    /// smallest of `a[lo..<hi]`, smaller-or-equal values before it and larger-or-equal after.
    static func select(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ k: Int) {
        var lo = lo, hi = hi - 1
        while hi > lo {
            if hi - lo < 16 {
                var run = UnsafeMutableBufferPointer(start: a + lo, count: hi - lo + 1)
                run.sort()
                return
            }
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { swap(&a[mid], &a[lo]) }
            if a[hi] < a[lo] { swap(&a[hi], &a[lo]) }
            if a[hi] < a[mid] { swap(&a[hi], &a[mid]) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    let t = a[i]; a[i] = a[j]; a[j] = t
                    i += 1; j -= 1
                }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }
}

/// Element types whose NaN-aware quantiles Kandinsky computes: `Float` and `Float16`.
public protocol QuantileScalar: BinaryFloatingPoint, BitwiseCopyable, Sendable {}
extension Float: QuantileScalar {}
extension Float16: QuantileScalar {}

extension ShapedArray where Scalar: QuantileScalar {
    /// NaN-aware quantiles along `axis` (see ``Quantiles``), as `numpy.nanquantile(a, levels, axis)`.
    ///
    /// The result has shape `[levels.count] + shape` with `axis` removed, in Float32; for an input
    /// [N, C, H, W] along axis 0 that is [Q, C, H, W]. Slices are gathered a block of neighbouring
    /// slices at a time (so a strided axis is read row by row, and `Float16` input is widened one
    /// block at a time rather than copied whole) and split across cores.
    ///
    /// - Precondition: the levels are ascending and in [0, 1].
    /// - Complexity: O(count · log Q), divided over the available cores.
    public func nanQuantiles(levels: [Double], alongAxis axis: Int) -> Tensor {
        precondition(axis >= 0 && axis < rank, "axis \(axis) is out of range for shape \(shape)")
        precondition(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 }, "levels \(levels) are not ascending")
        let outer = shape[..<axis].reduce(1, *)
        let extent = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var resultShape = shape
        resultShape.remove(at: axis)
        resultShape.insert(levels.count, at: 0)
        let sliceCount = outer * inner
        let levelStride = sliceCount
        let blockWidth = 16
        let blockCount = (sliceCount + blockWidth - 1) / blockWidth
        return Tensor(shape: resultShape) { output in
            let out = output.baseAddress!
            withUnsafeBufferPointer { source in
                let src = source.baseAddress!
                parallelFor(0..<blockCount) { blocks in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockWidth * Swift.max(extent, 1))
                    defer { scratch.deallocate() }
                    var counts = [Int](repeating: 0, count: blockWidth)
                    for block in blocks {
                        let firstSlice = block * blockWidth
                        let width = Swift.min(blockWidth, sliceCount - firstSlice)
                        for b in 0..<width { counts[b] = 0 }
                        // Slices (o, i) with consecutive i are neighbours in memory for every k,
                        // so each row of the block is one contiguous read.
                        var slice = firstSlice
                        var b = 0
                        while b < width {
                            let o = slice / inner, i = slice % inner
                            let run = Swift.min(width - b, inner - i)
                            let base = o * extent * inner + i
                            for k in 0..<extent {
                                let row = src + base + k * inner
                                for r in 0..<run {
                                    let value = Float(row[r])
                                    if !value.isNaN {
                                        scratch[(b + r) * extent + counts[b + r]] = value
                                        counts[b + r] += 1
                                    }
                                }
                            }
                            b += run
                            slice += run
                        }
                        for b in 0..<width {
                            Quantiles.compute(ofNonNaN: UnsafeMutableBufferPointer(start: scratch + b * extent, count: counts[b]),
                                              levels: levels, precision: Scalar.self,
                                              into: out + firstSlice + b, outputStride: levelStride)
                        }
                    }
                }
            }
        }
    }
}

/// NaN-aware quantiles with numpy's default ("linear", Hyndman & Fan type 7) interpolation.
///
/// For the m non-NaN values v₍₀₎ ≤ … ≤ v₍ₘ₋₁₎ of a slice and a level q ∈ [0, 1], the virtual
/// index is g = (m − 1)·q (in Double), j = ⌊g⌋, t = g − j and the quantile is
/// `v₍ⱼ₎ + (v₍ⱼ₊₁₎ − v₍ⱼ₎)·t` when t < 0.5, `v₍ⱼ₊₁₎ − (v₍ⱼ₊₁₎ − v₍ⱼ₎)·(1 − t)` otherwise, with
/// the difference rounded to the input's precision first, exactly as `numpy.nanquantile`
/// evaluates it. A slice without non-NaN values gives NaN.
///
/// Only the order statistics that the levels need are placed, by recursive multi-selection;
/// ranges where the needed ranks are dense are sorted outright (by a branch-free radix sort
/// when long), so Q levels over m values cost O(m · log min(Q, m)) rather than a sort per level.
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
    /// - Complexity: O(m · log min(Q, m)) expected for m values and Q levels.
    public static func compute<Precision: BinaryFloatingPoint>(
        ofNonNaN values: UnsafeMutableBufferPointer<Float>,
        levels: [Double],
        precision: Precision.Type = Float.self,
        into output: UnsafeMutablePointer<Float>,
        outputStride: Int = 1
    ) {
        for q in levels { precondition(q >= 0 && q <= 1, "quantile level \(q) is outside [0, 1]") }
        precondition(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 }, "levels \(levels) are not ascending")
        compute(values, levels: levels, rounding: DifferenceRounding(Precision.self), workspace: Workspace(),
                into: output, outputStride: outputStride)
    }

    /// How the difference of two neighbouring order statistics is rounded before interpolating,
    /// as numpy rounds it: to the precision of the input array.
    enum DifferenceRounding {
        case single
        case half
        case other((Float) -> Float)

        init<Precision: BinaryFloatingPoint>(_: Precision.Type) {
            if Precision.self == Float16.self {
                self = .half
            } else if Precision.self == Float.self || Precision.self == Double.self {
                // The values are Floats, so their difference is already exact in these types' rounding.
                self = .single
            } else {
                self = .other { Float(Precision($0)) }
            }
        }

        @inline(__always)
        func apply(_ difference: Float) -> Double {
            switch self {
            case .single: Double(difference)
            case .half: Double(Float16(difference))
            case .other(let round): Double(round(difference))
            }
        }
    }

    /// The work of ``compute(ofNonNaN:levels:precision:into:outputStride:)`` with checked levels;
    /// `workspace` is scratch space reused across calls.
    static func compute(_ values: UnsafeMutableBufferPointer<Float>, levels: [Double], rounding: DifferenceRounding,
                        workspace: Workspace, into output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let m = values.count
        guard m > 0 else {
            for k in levels.indices { output[k * outputStride] = .nan }
            return
        }
        // The order statistics the levels need, ascending and without repeats.
        workspace.reserve(keys: m, ranks: 2 * levels.count)
        let ranks = workspace.ranks
        var rankCount = 0
        for q in levels {
            let (previous, next, _) = interpolationIndices(level: q, count: m)
            if rankCount == 0 || ranks[rankCount - 1] != previous {
                ranks[rankCount] = previous
                rankCount += 1
            }
            if ranks[rankCount - 1] != next {
                ranks[rankCount] = next
                rankCount += 1
            }
        }
        let base = values.baseAddress!
        // Twice the depth of a balanced recursion before falling back to a guaranteed O(m log m) sort.
        let depthBudget = 2 * (Int.bitWidth - m.leadingZeroBitCount)
        multiSelect(base, 0, m, UnsafeBufferPointer(start: ranks, count: rankCount)[...],
                    depthBudget: depthBudget, workspace: workspace)
        for (k, q) in levels.enumerated() {
            let (previous, next, t) = interpolationIndices(level: q, count: m)
            let a = base[previous], b = base[next]
            let difference = rounding.apply(b - a)
            let value = t < 0.5 ? Double(a) + difference * t : Double(b) - difference * (1 - t)
            output[k * outputStride] = Float(value)
        }
    }

    /// numpy's neighbouring order statistics and weight for one level: both neighbours are the
    /// last value when (m − 1)·q reaches m − 1.
    @inline(__always)
    static func interpolationIndices(level q: Double, count m: Int) -> (Int, Int, Double) {
        let virtual = Double(m - 1) * q
        let previous = Int(virtual.rounded(.down))
        if previous >= m - 1 { return (m - 1, m - 1, virtual - Double(previous)) }
        return (previous, previous + 1, virtual - Double(previous))
    }

    /// Scratch memory for one thread's quantile computations, reused across slices (plain
    /// buffers, so the hot loops pay no exclusivity checks).
    final class Workspace {
        /// Room for the order statistics the levels need.
        private(set) var ranks = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        private var rankCapacity = 1
        /// Room for radix-sort keys.
        private(set) var keys = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        private var keyCapacity = 1
        /// Four 256-bucket histograms, one per key byte.
        let histograms = UnsafeMutablePointer<UInt32>.allocate(capacity: 4 * 256)

        init() {}

        /// Makes room for at least `keyCount` keys and `rankCount` ranks.
        func reserve(keys keyCount: Int, ranks rankCount: Int) {
            if keyCount > keyCapacity {
                keys.deallocate()
                keyCapacity = keyCount
                keys = UnsafeMutablePointer<UInt32>.allocate(capacity: keyCount)
            }
            if rankCount > rankCapacity {
                ranks.deallocate()
                rankCapacity = rankCount
                ranks = UnsafeMutablePointer<Int>.allocate(capacity: rankCount)
            }
        }

        deinit {
            ranks.deallocate()
            keys.deallocate()
            histograms.deallocate()
        }
    }

    /// Ranges at least this long are sorted by radix sort rather than by comparisons.
    static let radixSortThreshold = 128

    /// Places the order statistics `ranks` (ascending, all in `lo..<hi`) at their positions.
    /// Ranges where the ranks are dense are sorted outright, which is cheaper than selecting
    /// each rank. `workspace` must have room for `hi - lo` keys.
    static func multiSelect(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ ranks: Slice<UnsafeBufferPointer<Int>>,
                            depthBudget: Int, workspace: Workspace) {
        guard !ranks.isEmpty else { return }
        if hi - lo <= 4 * ranks.count || depthBudget == 0 {
            if hi - lo >= radixSortThreshold {
                radixSort(a + lo, count: hi - lo, workspace: workspace)
            } else {
                sort(a, lo, hi, depthBudget: depthBudget)
            }
            return
        }
        let middleIndex = ranks.startIndex + ranks.count / 2
        let middle = ranks[middleIndex]
        let (below, above) = partition(a, lo, hi, around: middle)
        // a[below..<above] now holds values equal to the selected one, rank `middle` included.
        let lower = ranks[..<middleIndex].prefix { $0 < below }
        let upper = ranks[(middleIndex + 1)...].drop { $0 < above }
        multiSelect(a, lo, below, lower, depthBudget: depthBudget - 1, workspace: workspace)
        multiSelect(a, above, hi, upper, depthBudget: depthBudget - 1, workspace: workspace)
    }

    /// Sorts `count` non-NaN floats ascending by least-significant-digit radix sort on their bit
    /// patterns, made order-preserving (positive values get the sign bit set, negative values are
    /// inverted). Byte positions where all keys agree are skipped, so values widened from
    /// Float16 (whose low 13 bits are zero) take three passes.
    ///
    /// - Complexity: O(count + 256) per pass, at most four passes, and no data-dependent branches.
    /// - Precondition: `workspace` has room for `count` keys.
    static func radixSort(_ a: UnsafeMutablePointer<Float>, count: Int, workspace: Workspace) {
        let histograms = workspace.histograms
        histograms.initialize(repeating: 0, count: 4 * 256)
        a.withMemoryRebound(to: UInt32.self, capacity: count) { keys in
            for i in 0..<count {
                let bits = keys[i]
                let key = bits ^ (UInt32(bitPattern: Int32(bitPattern: bits) >> 31) | 0x8000_0000)
                keys[i] = key
                histograms[Int(key & 0xFF)] += 1
                histograms[256 + Int((key >> 8) & 0xFF)] += 1
                histograms[512 + Int((key >> 16) & 0xFF)] += 1
                histograms[768 + Int(key >> 24)] += 1
            }
            var source = keys, destination = workspace.keys
            for pass in 0..<4 {
                let shift = UInt32(8 * pass)
                let histogram = histograms + 256 * pass
                if histogram[Int((source[0] >> shift) & 0xFF)] == count { continue }
                var total: UInt32 = 0
                for digit in 0..<256 {
                    let bucket = histogram[digit]
                    histogram[digit] = total
                    total += bucket
                }
                for i in 0..<count {
                    let key = source[i]
                    let digit = Int((key >> shift) & 0xFF)
                    destination[Int(histogram[digit])] = key
                    histogram[digit] += 1
                }
                swap(&source, &destination)
            }
            for i in 0..<count {
                let key = source[i]
                keys[i] = key ^ (UInt32(bitPattern: Int32(bitPattern: ~key) >> 31) | 0x8000_0000)
            }
        }
    }

    /// Quickselect around rank `k` of `a[lo..<hi]` (median-of-three pivots, Hoare partitions):
    /// afterwards `a[k]` is the k-th smallest, and the returned range `below..<above` (which
    /// contains k) holds only values equal to it, with smaller-or-equal values before and
    /// larger-or-equal values after.
    static func partition(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, around k: Int) -> (Int, Int) {
        var lo = lo, hi = hi - 1
        while hi - lo >= 16 {
            let (i, j) = hoarePartition(a, lo, hi)
            // a[lo...j] ≤ pivot ≤ a[i...hi], and a[j+1..<i] equals the pivot.
            if k <= j { hi = j } else if k >= i { lo = i } else { return (j + 1, i) }
        }
        insertionSort(a, lo, hi + 1)
        return (k, k + 1)
    }

    /// One Hoare partition of `a[lo...hi]` around the median of its first, middle and last
    /// elements; returns the crossing indices (i, j) with a[lo...j] ≤ pivot ≤ a[i...hi].
    @inline(__always)
    static func hoarePartition(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int) -> (Int, Int) {
        let mid = lo + (hi - lo) / 2
        if a[mid] < a[lo] { swap(&a[mid], &a[lo]) }
        if a[hi] < a[lo] { swap(&a[hi], &a[lo]) }
        if a[hi] < a[mid] { swap(&a[hi], &a[mid]) }
        // The sentinels a[lo] ≤ pivot ≤ a[hi] keep both scans in bounds.
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
        return (i, j)
    }

    /// Sorts `a[lo..<hi]` ascending: quicksort with insertion sort for short ranges, falling
    /// back to the standard library's O(n log n) sort when the recursion gets too deep.
    static func sort(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, depthBudget: Int) {
        var lo = lo, hi = hi, depthBudget = depthBudget
        while hi - lo > 24 {
            guard depthBudget > 0 else {
                var range = UnsafeMutableBufferPointer(start: a + lo, count: hi - lo)
                range.sort()
                return
            }
            depthBudget -= 1
            let (i, j) = hoarePartition(a, lo, hi - 1)
            // Recurse into the smaller side, loop on the larger: O(log n) stack.
            if j + 1 - lo < hi - i {
                sort(a, lo, j + 1, depthBudget: depthBudget)
                lo = i
            } else {
                sort(a, i, hi, depthBudget: depthBudget)
                hi = j + 1
            }
        }
        insertionSort(a, lo, hi)
    }

    @inline(__always)
    static func insertionSort(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int) {
        guard hi - lo > 1 else { return }
        for i in (lo + 1)..<hi {
            let value = a[i]
            var j = i
            while j > lo && a[j - 1] > value {
                a[j] = a[j - 1]
                j -= 1
            }
            a[j] = value
        }
    }
}

/// Element types whose NaN-aware quantiles Kandinsky computes: `Float` and `Float16`.
public protocol QuantileScalar: BinaryFloatingPoint, BitwiseCopyable, Sendable {}
extension Float: QuantileScalar {}
extension Float16: QuantileScalar {}

/// Widening to Float and NaN testing as concrete, inlinable steps per element type, so that
/// the gathering loop specialises without generic conversions.
protocol NaNFilteringWidening: BitwiseCopyable {
    /// Whether the value is NaN.
    static func isNaN(_ value: Self) -> Bool
    /// The value as a Float (exact; unspecified for NaN).
    static func widened(_ value: Self) -> Float
}

extension NaNFilteringWidening {
    /// The value as a Float, or nil if it is NaN.
    @inline(__always)
    static func widenedUnlessNaN(_ value: Self) -> Float? { isNaN(value) ? nil : widened(value) }
}

extension Float: NaNFilteringWidening {
    @inline(__always) static func isNaN(_ value: Float) -> Bool { value.isNaN }
    @inline(__always) static func widened(_ value: Float) -> Float { value }
}

extension Float16: NaNFilteringWidening {
    @inline(__always) static func isNaN(_ value: Float16) -> Bool { value.bitPattern & 0x7FFF > 0x7C00 }

    /// Exact conversion in a few integer operations (without F16C, `Float(Float16)` is a library
    /// call): the half's exponent and fraction shifted into a Float's layout give the value
    /// times 2⁻¹¹² (the exponent biases are 15 and 127) for normal and subnormal halves alike,
    /// so one multiplication by 2¹¹² restores it; infinity gets a Float's infinite exponent.
    @inline(__always)
    static func widened(_ value: Float16) -> Float {
        let bits = UInt32(value.bitPattern)
        let magnitude = bits & 0x7FFF
        var widened = Float(bitPattern: magnitude << 13) * 0x1p112
        if magnitude >= 0x7C00 { widened = .infinity }
        return Float(bitPattern: widened.bitPattern | ((bits & 0x8000) << 16))
    }
}

extension ShapedArray where Scalar: QuantileScalar {
    /// NaN-aware quantiles along `axis` (see ``Quantiles``), as `numpy.nanquantile(a, levels, axis)`.
    ///
    /// The result has shape `[levels.count] + shape` with `axis` removed, in Float32; for an input
    /// [N, C, H, W] along axis 0 that is [Q, C, H, W]. Slices are gathered a block of neighbouring
    /// slices at a time (so a strided axis is read a cache line at a time, and `Float16` input is
    /// widened one block at a time rather than copied whole) and the blocks are shared out over
    /// the cores.
    ///
    /// - Precondition: the levels are ascending and in [0, 1].
    /// - Complexity: O(count · log Q), divided over the available cores; extra memory is one
    ///   block of 32 slices per core.
    public func nanQuantiles(levels: [Double], alongAxis axis: Int) -> Tensor {
        precondition(axis >= 0 && axis < rank, "axis \(axis) is out of range for shape \(shape)")
        for q in levels { precondition(q >= 0 && q <= 1, "quantile level \(q) is outside [0, 1]") }
        precondition(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 }, "levels \(levels) are not ascending")
        var resultShape = shape
        resultShape.remove(at: axis)
        resultShape.insert(levels.count, at: 0)
        return Tensor(shape: resultShape) { output in
            withUnsafeBytes { raw in
                // One concrete call per element type, so the kernel is specialised for it.
                if Scalar.self == Float16.self {
                    nanQuantileKernel(raw.bindMemory(to: Float16.self), shape: shape, axis: axis, levels: levels,
                                      rounding: .half, into: output.baseAddress!)
                } else {
                    nanQuantileKernel(raw.bindMemory(to: Float.self), shape: shape, axis: axis, levels: levels,
                                      rounding: .single, into: output.baseAddress!)
                }
            }
        }
    }
}

/// The body of ``ShapedArray/nanQuantiles(levels:alongAxis:)`` for one element type.
///
/// Work goes a block of neighbouring slices at a time. The block's rows are first copied into
/// a tile (plain copies, no branches, so many cache misses of a strided axis are in flight at
/// once), then each slice's non-NaN values are compacted from the cache-resident tile and
/// handed to ``Quantiles``.
func nanQuantileKernel<Element: NaNFilteringWidening>(
    _ source: UnsafeBufferPointer<Element>, shape: [Int], axis: Int, levels: [Double],
    rounding: Quantiles.DifferenceRounding, into out: UnsafeMutablePointer<Float>
) {
    let outer = shape[..<axis].reduce(1, *)
    let extent = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *)
    let sliceCount = outer * inner
    guard sliceCount > 0, !levels.isEmpty else { return }
    // 64 slices of Float16 are two cache lines per step along the axis; a tile of 64 × 2000
    // values stays in a core's L2 cache.
    let blockWidth = 64
    let blockCount = (sliceCount + blockWidth - 1) / blockWidth
    let src = source.baseAddress!
    // More chunks than cores, so a core slowed by other work does not hold up the rest.
    parallelFor(0..<blockCount, chunkCount: min(blockCount, 8 * availableCoreCount)) { blocks in
        let tile = UnsafeMutablePointer<Element>.allocate(capacity: blockWidth * max(extent, 1))
        let values = UnsafeMutablePointer<Float>.allocate(capacity: max(extent, 1))
        defer { tile.deallocate(); values.deallocate() }
        let workspace = Quantiles.Workspace()
        for block in blocks {
            let firstSlice = block * blockWidth
            let width = min(blockWidth, sliceCount - firstSlice)
            // Slices (o, i) with consecutive i are neighbours in memory at every position k
            // along the axis, so each step of a run of them is one contiguous copy.
            var slice = firstSlice
            var b = 0
            while b < width {
                let o = slice / inner, i = slice % inner
                let run = min(width - b, inner - i)
                let base = src + o * extent * inner + i
                for k in 0..<extent {
                    (tile + k * blockWidth + b).initialize(from: base + k * inner, count: run)
                }
                b += run
                slice += run
            }
            for b in 0..<width {
                var count = 0
                for k in 0..<extent {
                    // Branch-free compaction: every value is written, only non-NaNs are kept.
                    let value = tile[k * blockWidth + b]
                    values[count] = Element.widened(value)
                    count += Element.isNaN(value) ? 0 : 1
                }
                Quantiles.compute(UnsafeMutableBufferPointer(start: values, count: count),
                                  levels: levels, rounding: rounding, workspace: workspace,
                                  into: out + firstSlice + b, outputStride: sliceCount)
            }
        }
    }
}

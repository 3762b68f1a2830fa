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
                    nanQuantileKernel(
                        raw.bindMemory(to: Float16.self), shape: shape, axis: axis, levels: levels,
                        rounding: .half, into: output.baseAddress!)
                } else {
                    nanQuantileKernel(
                        raw.bindMemory(to: Float.self), shape: shape, axis: axis, levels: levels,
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
        defer {
            tile.deallocate()
            values.deallocate()
        }
        let workspace = Quantiles.Workspace()
        for block in blocks {
            let firstSlice = block * blockWidth
            let width = min(blockWidth, sliceCount - firstSlice)
            // Slices (o, i) with consecutive i are neighbours in memory at every position k
            // along the axis, so each step of a run of them is one contiguous copy.
            var slice = firstSlice
            var b = 0
            while b < width {
                let o = slice / inner
                let i = slice % inner
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
                Quantiles.compute(
                    UnsafeMutableBufferPointer(start: values, count: count),
                    levels: levels, rounding: rounding, workspace: workspace,
                    into: out + firstSlice + b, outputStride: sliceCount)
            }
        }
    }
}

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
    static func compute<Precision: BinaryFloatingPoint>(
        ofNonNaN values: UnsafeMutableBufferPointer<Float>,
        levels: [Double],
        precision: Precision.Type = Float.self,
        into output: UnsafeMutablePointer<Float>,
        outputStride: Int = 1
    ) {
        for q in levels { precondition(q >= 0 && q <= 1, "quantile level \(q) is outside [0, 1]") }
        precondition(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 }, "levels \(levels) are not ascending")
        compute(
            values, levels: levels, rounding: DifferenceRounding(Precision.self), workspace: Workspace(),
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
    static func compute(
        _ values: UnsafeMutableBufferPointer<Float>, levels: [Double], rounding: DifferenceRounding,
        workspace: Workspace, into output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
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
        multiSelect(
            base, 0, m, UnsafeBufferPointer(start: ranks, count: rankCount)[...],
            depthBudget: depthBudget, workspace: workspace)
        for (k, q) in levels.enumerated() {
            let (previous, next, t) = interpolationIndices(level: q, count: m)
            let a = base[previous]
            let b = base[next]
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
}

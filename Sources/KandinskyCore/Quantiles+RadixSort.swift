// The branch-free sort of ``Quantiles`` for long ranges whose ranks are dense.

extension Quantiles {
    /// Ranges at least this long are sorted by radix sort rather than by comparisons.
    static let radixSortThreshold = 128

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
            var source = keys
            var destination = workspace.keys
            for pass in 0..<4 {
                let shift = UInt32(8 * pass)
                let histogram = histograms + 256 * pass
                if histogram[Int((source[0] >> shift) & 0xFF)] == count { continue }
                radixScatter(source, into: destination, count: count, shift: shift, histogram: histogram)
                swap(&source, &destination)
            }
            for i in 0..<count {
                let key = source[i]
                keys[i] = key ^ (UInt32(bitPattern: Int32(bitPattern: ~key) >> 31) | 0x8000_0000)
            }
        }
    }
}

/// One pass of a least-significant-digit radix sort: the `count` keys of `source` scattered
/// into `destination`, stably, by their byte at `shift`; `histogram` holds the 256 counts of
/// that byte on entry and the buckets' ends on return.
///
/// - Complexity: O(count + 256).
@inline(__always)
func radixScatter<Key: FixedWidthInteger & UnsignedInteger, Count: FixedWidthInteger>(
    _ source: UnsafeMutablePointer<Key>, into destination: UnsafeMutablePointer<Key>, count: Int, shift: Key,
    histogram: UnsafeMutablePointer<Count>
) {
    var total: Count = 0
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
}

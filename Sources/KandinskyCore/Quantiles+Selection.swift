// The order statistics of ``Quantiles``: recursive multi-selection by Hoare partitions, with
// sorting where the needed ranks are dense (radix sort in `Quantiles+RadixSort.swift`).

extension Quantiles {
    /// Places the order statistics `ranks` (ascending, all in `lo..<hi`) at their positions.
    /// Ranges where the ranks are dense are sorted outright, which is cheaper than selecting
    /// each rank. `workspace` must have room for `hi - lo` keys.
    static func multiSelect(
        _ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ ranks: Slice<UnsafeBufferPointer<Int>>,
        depthBudget: Int, workspace: Workspace
    ) {
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

    /// Quickselect around rank `k` of `a[lo..<hi]` (median-of-three pivots, Hoare partitions):
    /// afterwards `a[k]` is the k-th smallest, and the returned range `below..<above` (which
    /// contains k) holds only values equal to it, with smaller-or-equal values before and
    /// larger-or-equal values after.
    static func partition(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, around k: Int) -> (Int, Int) {
        var lo = lo
        var hi = hi - 1
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
        var i = lo
        var j = hi
        while i <= j {
            while a[i] < pivot { i += 1 }
            while a[j] > pivot { j -= 1 }
            if i <= j {
                let t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
            }
        }
        return (i, j)
    }

    /// Sorts `a[lo..<hi]` ascending: quicksort with insertion sort for short ranges, falling
    /// back to the standard library's O(n log n) sort when the recursion gets too deep.
    static func sort(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, depthBudget: Int) {
        var lo = lo
        var hi = hi
        var depthBudget = depthBudget
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

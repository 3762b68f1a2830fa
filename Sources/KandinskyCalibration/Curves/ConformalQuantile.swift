/// The ``QuantileRule/conformal`` threshold of a pool of scores: a weighted order statistic.
///
/// With n images in the pool, image i holding m_i of the pool's target pixels, the threshold
/// at level ℓ is the smallest t with Σ_i (1/m_i)·#{j : s_ij > t} ≤ B(ℓ) = (n + 1)(1 − ℓ) − 1,
/// +∞ when no t does (B < 0, or an empty pool). The left side only changes at score values,
/// so t is a score: sorting the distinct scores descending, v_1 > v_2 > …, with W_j the total
/// weight of the scores above v_j, the threshold is v_j for the largest j with W_j ≤ B.
/// Comparisons allow 10⁻⁹·(n + 1) of rounding in the weight sums and in B, so that a budget
/// that is an integer in exact arithmetic (B = 8 for n = 9, ℓ = 0.1…) is not missed by an
/// ulp; the guarantee is unaffected at that scale.
enum ConformalQuantile {
    /// B(ℓ) = (n + 1)(1 − ℓ) − 1 plus the rounding allowance.
    @inline(__always)
    static func budget(level: Double, imageCount n: Int) -> Double {
        Double(n + 1) * (1 - level) - 1 + 1e-9 * Double(n + 1)
    }

    /// The 0-based rank, in n ascending scores of one pixel (every m_i = 1), of the threshold
    /// at `level`: ⌈(n + 1)ℓ⌉ − 1, at least 0; nil when that exceeds n − 1 (+∞) or n = 0.
    ///
    /// With unit weights the scores above the k-th smallest (1-based) weigh n − k, so the
    /// largest admissible j is the smallest k with n − k ≤ B, k = ⌈n − B⌉.
    @inline(__always)
    static func rank(level: Double, count n: Int) -> Int? {
        guard n > 0 else { return nil }
        let b = budget(level: level, imageCount: n)
        guard b >= 0 else { return nil }
        let k = Int((Double(n) - b).rounded(.up))
        return max(k, 1) - 1
    }

    /// The per-level ranks of one score count (a lookup table: every pixel with n scores reads
    /// the same ranks).
    struct RankTable {
        /// Per level, the 0-based rank, or −1 for +∞.
        let ranks: [Int32]

        init(levels: [Double], count n: Int) {
            ranks = levels.map { level in rank(level: level, count: n).map(Int32.init) ?? -1 }
        }

        /// The thresholds of n ascending scores, one per level, `outputStride` apart; each is a
        /// stored score, the same at any `precision`.
        @inline(__always)
        func evaluate(
            sorted values: UnsafePointer<Float16>, precision _: ScorePrecision,
            into output: UnsafeMutablePointer<Float>, outputStride: Int
        ) {
            for k in ranks.indices {
                let r = ranks[k]
                output[k * outputStride] = r < 0 ? .infinity : Float(values[Int(r)])
            }
        }
    }

    /// The thresholds at ascending `levels` of a pool summarised as its distinct scores in
    /// descending order with the weight of each (`weights[j]` the total 1/m_i of the scores
    /// equal to `descending[j]`), over `imageCount` images.
    ///
    /// - Complexity: O(D + Q·log D) for D distinct scores.
    static func thresholds(
        descending: [Float], weights: [Double], imageCount n: Int, levels: [Double],
        into output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        // above[j]: the weight of the scores strictly above descending[j]; non-decreasing in j.
        var above = [Double](repeating: 0, count: descending.count)
        var running = 0.0
        for j in descending.indices {
            above[j] = running
            running += weights[j]
        }
        for (k, level) in levels.enumerated() {
            let b = budget(level: level, imageCount: n)
            guard n > 0, b >= 0, !descending.isEmpty else {
                output[k * outputStride] = .infinity
                continue
            }
            // The largest j with above[j] ≤ b (above[0] = 0 ≤ b, so one exists).
            var low = 0
            var high = descending.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if above[middle] <= b { low = middle } else { high = middle - 1 }
            }
            output[k * outputStride] = descending[low]
        }
    }
}

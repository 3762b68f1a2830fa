import KandinskyCore

/// The paired difference of two strategies' coverage errors at one calibration-set size, over the
/// draws on which both were calibrated, with a seeded bootstrap interval and the call it supports.
///
/// **The quantity.** Draw j (j = 1 … n) is one seeded choice of calibration images; both
/// strategies A and B are calibrated on exactly those images and evaluated on the same test set,
/// giving mean pixelwise coverage errors a_j and b_j. The paired differences are d_j = a_j − b_j
/// and the estimate is their mean d̄ = (1/n) Σ_j d_j. A negative d̄ means A has the lower CE.
///
/// **The interval** is the 95 % percentile bootstrap over draws (``bootstrap(_:resamples:seed:)``):
/// B = 9 999 resamples, each n draws taken uniformly with replacement from the n differences by a
/// ``SeededGenerator``; with the resample means sorted, m₍₁₎ ≤ … ≤ m₍B₎, the interval is
/// [m₍₂₅₀₎, m₍₉₇₅₀₎], the ranks (B + 1)·0.025 and (B + 1)·0.975. It reflects the spread of the
/// calibration draws only (the test set is the same for every draw), and with few draws (n ≈ 5)
/// percentile intervals are known to be somewhat too narrow. A call is only made from at least
/// two *distinct* draws, pairs (a_j, b_j) that differ: draws that all give the same two values
/// are the same calibration repeated (a size equal to the whole calibration split), which says
/// nothing about the noise, and get no interval.
///
/// **The call** (``Call``) with an equivalence margin δ ≥ 0 (``margin``, `pipeline.tie_margin`):
/// A beats B when the interval lies entirely below −δ (upper < −δ), B beats A when it lies
/// entirely above δ (lower > δ), otherwise (the interval reaches into [−δ, δ], or fewer than two
/// distinct draws) a tie. δ = 0 is the plain test "the interval excludes 0". A positive δ
/// makes differences smaller than δ ties by construction, whatever the number of draws: the
/// bootstrap covers the calibration draws but not the network itself, and a network trained on
/// another machine (OpenBLAS picks kernels per CPU) or with another thread count differs at
/// rounding level, which moves paired differences by a few thousandths of CE (see the study
/// article). Within the margin such a move cannot turn a call.
package struct PairedComparison: Sendable, Equatable, Codable {
    /// What the interval says about A against B.
    package enum Call: String, Sendable, Codable, Equatable {
        /// A has the lower CE: the interval lies below 0.
        case beats
        /// B has the lower CE: the interval lies above 0.
        case loses
        /// 0 is inside the interval, or there are too few draws for one.
        case tie
    }

    /// A, the strategy compared (usually a Kandinsky strategy).
    package var strategy: String
    /// B, the strategy it is compared against (a baseline).
    package var baseline: String
    /// The calibration-set size.
    package var calibrationImages: Int
    /// n, the paired draws.
    package var draws: Int
    /// The distinct pairs (a_j, b_j) among the draws; an interval needs at least two.
    package var distinctDraws: Int
    /// d̄, the mean over draws of CE(A) − CE(B).
    package var meanDifference: Double
    /// The bootstrap interval's lower end, nil with fewer than two draws.
    package var lower: Double?
    /// Its upper end, nil with fewer than two draws.
    package var upper: Double?
    /// δ, the equivalence margin: differences of CE within [−δ, δ] are ties.
    package var margin: Double

    /// The call of the interval (see ``PairedComparison``).
    package var call: Call { Self.call(lower: lower, upper: upper, margin: margin) }

    /// The bootstrap's resamples, B.
    package static let resamples = 9_999

    /// The call of an interval with margin δ: beats when upper < −δ, loses when lower > δ, else
    /// (or without an interval) a tie.
    package static func call(lower: Double?, upper: Double?, margin: Double = 0) -> Call {
        guard let lower, let upper else { return .tie }
        if upper < -margin { return .beats }
        if lower > margin { return .loses }
        return .tie
    }

    /// Compares `a` with `b`, their values paired by index (draw j of each), with equivalence
    /// margin `margin` (δ).
    ///
    /// - Precondition: `a` and `b` have the same count ≥ 1, and δ ≥ 0.
    package init(
        strategy: String, baseline: String, calibrationImages: Int, a: [Double], b: [Double], seed: UInt64,
        margin: Double = 0
    ) {
        precondition(a.count == b.count && !a.isEmpty, "\(a.count) and \(b.count) draws cannot be paired")
        precondition(margin >= 0, "the equivalence margin must be non-negative, got \(margin)")
        self.margin = margin
        let differences = zip(a, b).map { $0 - $1 }
        self.strategy = strategy
        self.baseline = baseline
        self.calibrationImages = calibrationImages
        draws = differences.count
        distinctDraws = Set(zip(a, b).map { [$0, $1] }).count
        meanDifference = differences.reduce(0, +) / Double(differences.count)
        if distinctDraws >= 2 {
            let interval = Self.bootstrap(differences, seed: seed)
            lower = interval.lower
            upper = interval.upper
        }
    }

    /// The 95 % percentile bootstrap interval of the mean of `values`: `resamples` (B) resample
    /// means, each of n values drawn with replacement (index ⌊u·n⌋ with u = (x >> 11)·2⁻⁵³ ∈ [0, 1)
    /// and x the next output of `SeededGenerator(seed:)`), sorted; the
    /// interval is [m₍k₎, m₍B+1−k₎] with k = max(1, ⌊(B + 1)·0.025⌋). For B = 9 999 that is
    /// [m₍₂₅₀₎, m₍₉₇₅₀₎]. Constant values give a zero-width interval at that constant.
    ///
    /// - Precondition: `values` is not empty and `resamples` ≥ 1.
    /// - Complexity: O(B·n + B log B) time, O(B) memory.
    package static func bootstrap(
        _ values: [Double], resamples: Int = PairedComparison.resamples,
        seed: UInt64
    ) -> (lower: Double, upper: Double) {
        precondition(!values.isEmpty && resamples >= 1, "a bootstrap needs values and resamples")
        var generator = SeededGenerator(seed: seed)
        let n = values.count
        var means = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n {
                let u = Double(generator.next() >> 11) * 0x1p-53
                sum += values[min(Int(u * Double(n)), n - 1)]
            }
            means[r] = sum / Double(n)
        }
        means.sort()
        let k = max(1, Int(Double(resamples + 1) * 0.025))
        return (means[k - 1], means[resamples - k])
    }

    /// The difference and its interval as text: `−0.012 [−0.015, −0.009]`, three decimals;
    /// `+0.004 (1 draw)` without an interval.
    package var text: String {
        func signed(_ x: Double) -> String { (x >= 0 ? "+" : "−") + format3(abs(x)) }
        guard let lower, let upper else {
            let what = draws == 1 ? "1 draw" : "\(draws) identical draws"
            return "\(signed(meanDifference)) (\(what), no interval)"
        }
        return "\(signed(meanDifference)) [\(signed(lower)), \(signed(upper))]"
    }

    /// The call as a phrase naming both strategies: `gen-ann beats pixel (−0.012 [−0.015, −0.009])`.
    package var phrase: String {
        switch call {
        case .beats: "\(strategy) beats \(baseline) (\(text))"
        case .loses: "\(baseline) beats \(strategy) (\(strategy) − \(baseline) = \(text))"
        case .tie where (lower ?? 0) > 0 || (upper ?? 0) < 0:
            "\(strategy) ties with \(baseline) (\(text), the interval reaches into the tie margin ±\(format3(margin)))"
        case .tie: "\(strategy) ties with \(baseline) (\(text))"
        }
    }
}

/// x to three decimals (`0.153`), `–` for NaN.
func format3(_ x: Double) -> String {
    x.isNaN ? "–" : String(format: "%.3f", x)
}

/// How a pool of calibration scores becomes a threshold at a level ℓ.
///
/// The unit that is exchangeable is the calibration **image**. For a pool (one pixel for
/// `pixel`, all pixels of a class for `image`, a cluster or an annulus), let i = 1 … n be the
/// calibration images with at least one target pixel of the class in the pool, m_i such pixels
/// and s_i1 … s_im_i their scores.
public enum QuantileRule: String, Sendable, CaseIterable, Codable {
    /// Conformal risk control of the fraction of a pool's target pixels left out of the set
    /// (Angelopoulos et al., 2022): the threshold at level ℓ is the smallest t with
    ///
    ///     Σ_i (1 / m_i) · #{j : s_ij > t} ≤ (n + 1)(1 − ℓ) − 1,
    ///
    /// and +∞ (the class is always in the set) when no t satisfies it, in particular whenever
    /// the pool has no score. For a new image exchangeable with the calibration images and
    /// having targets of the class in the pool, the expected fraction of those pixels whose
    /// set contains the class is then ≥ ℓ. For a single pixel (every m_i = 1) this is the
    /// classical split-conformal order statistic of rank ⌈(n + 1)ℓ⌉ (+∞ when that exceeds n).
    /// When the inequality already holds below every score (ℓ ≤ 1/(n + 1) for a pixel) the
    /// rule's threshold is −∞; the smallest score is stored instead, which is larger and so
    /// keeps the guarantee. The default.
    case conformal
    /// numpy's default linear quantile (Hyndman–Fan type 7) of the pooled scores, NaN for a
    /// pool without scores: the original implementation's rule, kept to reproduce its figures.
    /// It carries no finite-sample guarantee: on n i.i.d. continuous scores the interpolated
    /// quantile at ℓ covers a new score with probability about ℓ − (2ℓ − 1)/(n + 1).
    case linear
}

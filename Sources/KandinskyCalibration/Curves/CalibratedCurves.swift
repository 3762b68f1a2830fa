import KandinskyCore

/// How a confidence level is turned into a point of a non-conformity curve.
///
/// The default is the curves' rule's own: ``atOrAbove`` for ``QuantileRule/conformal`` curves
/// (interpolating between two conformal thresholds can undercover), ``interpolated`` for
/// ``QuantileRule/linear`` ones (the original's behaviour).
public enum ThresholdIndexing: String, Sendable, CaseIterable, Codable {
    /// The curve at the smallest stored level ≥ ℓ: index ⌈ℓ·(Q − 1)⌉ (levels within 10⁻⁹ of a
    /// stored level count as that level). The threshold is therefore at least the rule's
    /// exact one at ℓ, and the coverage at most 1/(Q − 1) above the requested one; with the
    /// conformal default of Q = 101 every multiple of 0.01 is read exactly.
    case atOrAbove = "at-or-above"
    /// The curve at level ℓ, linearly interpolated between its points: with g = ℓ·(Q − 1),
    /// j = ⌊g⌋, the value is curve[j] + (g − j)·(curve[j + 1] − curve[j]) (curve[j] when both
    /// points are equal, so +∞ stays +∞).
    case interpolated
    /// The original notebook's rule: curve index ⌊ℓ·Q⌋ clamped to Q − 1 for prediction sets (and
    /// the evaluation's own index rules, see ``CoverageEvaluation``). Kept for comparisons with
    /// published figures; it is slightly conservative because it rounds the index up.
    case reference
}

/// Calibrated non-conformity curves and what produced them: the content of a calibrated-model
/// file.
///
/// `curves` is [Q, C, H, W] Float32 row-major; the curve of class c at pixel (h, w) has the
/// value `curves[k, c, h, w]` at level k/(Q − 1), never decreasing in k. Under the
/// ``QuantileRule/conformal`` rule a value is finite or +∞ (the class is always in the set at
/// that level); under ``QuantileRule/linear`` it is NaN where no score was available.
///
/// The curves are dense in memory even for a grouped class, whose pixels repeat their group's
/// curve: Q·C·H·W·4 bytes, 62 MB at 240 × 320 pixels with Q = 101 and C = 2, whatever the
/// strategy. Only the file is compact: it stores a grouped class's curves once per group
/// (`groupCurves(ofClass:)`) and reading spreads them over the pixels again.
public struct CalibratedCurves: Sendable {
    /// [Q, C, H, W] curves.
    public var curves: Tensor
    /// The method name (``NonconformityGrouping/name``).
    public var method: String
    /// The strategy's parameters as JSON.
    public var parameters: String
    /// The number of calibration images N.
    public var calibrationImageCount: Int
    /// How the calibration scores were computed.
    public var precision: ScorePrecision
    /// How pooled scores became thresholds.
    public var rule: QuantileRule
    /// The groups used (pixelwise classes have no labels).
    public var groups: PixelGroups
    /// Per class: the number of pooled scores of each group, nil for pixelwise classes.
    public var groupSampleCounts: [[Int]?]
    /// Per class: the number of threshold-setting calibration images with at least one target
    /// pixel in each group (n_g of the rule), nil for pixelwise classes or when unknown (files
    /// written before the rule was recorded).
    public var groupImageCounts: [[Int]?]

    /// Curves and their provenance.
    ///
    /// - Precondition: `curves` is rank 4 with Q ≥ 2, and the groups cover its C classes.
    package init(
        curves: Tensor, method: String, parameters: String = "{}", calibrationImageCount: Int,
        precision: ScorePrecision = .float, rule: QuantileRule = .conformal, groups: PixelGroups? = nil,
        groupSampleCounts: [[Int]?]? = nil, groupImageCounts: [[Int]?]? = nil
    ) {
        precondition(
            curves.rank == 4 && curves.shape[0] >= 2, "curves must be [Q, C, H, W] with Q ≥ 2, got \(curves.shape)")
        let classCount = curves.shape[1]
        self.curves = curves
        self.method = method
        self.parameters = parameters
        self.calibrationImageCount = calibrationImageCount
        self.precision = precision
        self.rule = rule
        self.groups = groups ?? .pixelwise(classCount: classCount)
        self.groupSampleCounts = groupSampleCounts ?? Array(repeating: nil, count: classCount)
        self.groupImageCounts = groupImageCounts ?? Array(repeating: nil, count: classCount)
        precondition(
            self.groups.labels.count == classCount,
            "groups for \(self.groups.labels.count) classes, curves for \(classCount)")
    }

    /// Q, the number of curve points.
    public var levelCount: Int { curves.shape[0] }
    /// C, the number of classes.
    public var classCount: Int { curves.shape[1] }
    /// H.
    public var height: Int { curves.shape[2] }
    /// W.
    public var width: Int { curves.shape[3] }
    /// The curve levels k/(Q − 1).
    public var levels: [Double] { Quantiles.equallySpacedLevels(count: levelCount) }

    /// The indexing used when none is given: ``ThresholdIndexing/atOrAbove`` for conformal
    /// curves, ``ThresholdIndexing/interpolated`` for linear ones.
    public var defaultIndexing: ThresholdIndexing { rule == .conformal ? .atOrAbove : .interpolated }

    /// The threshold at every (c, h, w) for level `level`: [C, H, W].
    ///
    /// `atOrAbove`: curve[⌈level·(Q − 1)⌉]. `interpolated`: with g = level·(Q − 1), j = ⌊g⌋,
    /// t = g − j, curve[j] + t·(curve[j+1] − curve[j]) (exactly curve[j] when t = 0 or both
    /// points are equal). `reference`: curve[min(⌊level·Q⌋, Q − 1)].
    ///
    /// - Parameters:
    ///   - level: The coverage level, in [0, 1].
    ///   - indexing: nil for ``defaultIndexing``.
    /// - Precondition: `level` is in [0, 1].
    /// - Complexity: O(C·H·W).
    public func threshold(atLevel level: Double, indexing: ThresholdIndexing? = nil) -> Tensor {
        precondition(level >= 0 && level <= 1, "level \(level) is outside [0, 1]")
        let (lower, upper, t) = Self.curveIndices(
            level: level, levelCount: levelCount, indexing: indexing ?? defaultIndexing)
        return threshold(lower: lower, upper: upper, weight: t)
    }

    /// The curve points and weight that `indexing` reads for `level`.
    static func curveIndices(level: Double, levelCount q: Int, indexing: ThresholdIndexing) -> (Int, Int, Double) {
        switch indexing {
        case .atOrAbove:
            let index = atOrAboveIndex(level: level, levelCount: q)
            return (index, index, 0)
        case .interpolated:
            return interpolationIndices(level: level, levelCount: q)
        case .reference:
            let index = referenceIndex(level: level, levelCount: q)
            return (index, index, 0)
        }
    }

    /// The index of the smallest stored level ≥ `level`: ⌈level·(Q − 1) − 10⁻⁹⌉, so a level
    /// that differs from a stored one by rounding only reads that one.
    static func atOrAboveIndex(level: Double, levelCount q: Int) -> Int {
        min(max(Int((level * Double(q - 1) - 1e-9).rounded(.up)), 0), q - 1)
    }

    /// The curve value at a fractional index between points `lower` and `upper`: [C, H, W].
    func threshold(lower: Int, upper: Int, weight t: Double) -> Tensor {
        let plane = classCount * height * width
        return Tensor(shape: [classCount, height, width]) { out in
            curves.withUnsafeBufferPointer { curve in
                let a = curve.baseAddress! + lower * plane
                let b = curve.baseAddress! + upper * plane
                if t == 0 || lower == upper {
                    out.baseAddress!.update(from: a, count: plane)
                } else {
                    let weight = Float(t)
                    for i in 0..<plane { out[i] = Self.interpolate(a[i], b[i], weight) }
                }
            }
        }
    }

    /// a + t·(b − a), or a when a = b (so that +∞ stays +∞ instead of becoming NaN).
    @inline(__always)
    static func interpolate(_ a: Float, _ b: Float, _ t: Float) -> Float {
        a == b ? a : a + t * (b - a)
    }

    /// The neighbouring curve points and weight of level ℓ: g = ℓ·(Q − 1), (⌊g⌋, ⌊g⌋ + 1, g − ⌊g⌋).
    static func interpolationIndices(level: Double, levelCount q: Int) -> (Int, Int, Double) {
        let g = level * Double(q - 1)
        let lower = min(Int(g.rounded(.down)), q - 1)
        return (lower, min(lower + 1, q - 1), g - Double(lower))
    }

    /// The original notebook's index for level ℓ: ⌊ℓ·Q⌋ clamped to Q − 1.
    static func referenceIndex(level: Double, levelCount q: Int) -> Int {
        min(Int((level * Double(q)).rounded(.down)), q - 1)
    }

    /// Checks that these curves fit probabilities of shape [N, C, H, W].
    package func checkCompatible(withProbabilitiesShape shape: [Int], curvesSource: String = "curves")
        throws(CalibrationError)
    {
        guard shape.count == 4, Array(shape[1...]) == Array(curves.shape[1...]) else {
            throw .invalidCurves(
                source: curvesSource, field: "curves",
                problem:
                    "curves [Q, C, H, W] of shape \(curves.shape) (classes, height, width \(Array(curves.shape[1...]))) do not match probabilities of shape \(shape)"
            )
        }
    }
}

import KandinskyCore

extension CalibratedCurves {
    /// Prediction sets at confidence 1 − α: [N, C, H, W] bytes, 1 where class c is in the set of
    /// pixel (h, w) of image n, i.e. where 1 − P[n, c, h, w] ≤ threshold(1 − α)[c, h, w].
    ///
    /// The score 1 − p is computed as in ``ScorePrecision/testScore(probability:)``. A +∞
    /// threshold (conformal curves where the level cannot be reached) always admits the class;
    /// a NaN threshold (linear curves without a calibration score there) never does.
    ///
    /// Guarantee (``QuantileRule/conformal`` curves, default indexing, calibration and test
    /// images exchangeable): for every pool of the calibration (a pixel, a group), a test image
    /// with targets of class c in the pool has in expectation at least 1 − α of those pixels'
    /// sets containing c.
    ///
    /// - Parameters:
    ///   - probabilities: P [N, C, H, W] in [0, 1].
    ///   - alpha: the miscoverage α in (0, 1).
    ///   - indexing: how the level 1 − α is read off the curves; nil for the curves' default
    ///     (``CalibratedCurves/defaultIndexing``).
    ///   - precision: how scores are computed; the curves' own precision by default.
    ///   - probabilitiesSource: the name of the probabilities in error messages (a file path).
    ///   - curvesSource: the name of the curves in error messages (a file path).
    /// - Throws: ``CalibrationError`` when the shape does not fit the curves or a probability is
    ///   NaN or outside [0, 1].
    /// - Precondition: 0 < α < 1.
    /// - Complexity: O(N·C·H·W).
    public func predictionSets<P: QuantileScalar>(
        probabilities: ShapedArray<P>, alpha: Double,
        indexing: ThresholdIndexing? = nil,
        precision: ScorePrecision? = nil,
        probabilitiesSource: String = "probabilities",
        curvesSource: String = "curves"
    ) throws(CalibrationError) -> ShapedArray<UInt8> {
        try Specialized.dispatch(
            probabilities,
            float: { (p: Tensor) throws(CalibrationError) -> ShapedArray<UInt8> in
                try specializedPredictionSets(
                    probabilities: p, alpha: alpha, indexing: indexing, precision: precision,
                    probabilitiesSource: probabilitiesSource, curvesSource: curvesSource)
            },
            half: { (p: HalfTensor) throws(CalibrationError) -> ShapedArray<UInt8> in
                try specializedPredictionSets(
                    probabilities: p, alpha: alpha, indexing: indexing, precision: precision,
                    probabilitiesSource: probabilitiesSource, curvesSource: curvesSource)
            })
    }

    func specializedPredictionSets<P: QuantileScalar>(
        probabilities: ShapedArray<P>, alpha: Double, indexing: ThresholdIndexing?, precision: ScorePrecision?,
        probabilitiesSource: String, curvesSource: String
    ) throws(CalibrationError) -> ShapedArray<UInt8> {
        precondition(alpha > 0 && alpha < 1, "alpha \(alpha) is outside (0, 1)")
        try checkCompatible(withProbabilitiesShape: probabilities.shape, curvesSource: curvesSource)
        guard probabilities.shape[0] > 0 else {
            throw .emptyInput(source: probabilitiesSource, shape: probabilities.shape)
        }
        let precision = precision ?? self.precision
        let thresholds = threshold(atLevel: 1 - alpha, indexing: indexing)
        let plane = thresholds.count
        var bad: Int?
        let sets = ShapedArray<UInt8>(shape: probabilities.shape) { out in
            let o = UncheckedPointer(out.baseAddress!)
            bad = probabilities.withUnsafeBufferPointer { p in
                thresholds.withUnsafeBufferPointer { thr in
                    let pb = UncheckedPointer(p.baseAddress!)
                    let tb = UncheckedPointer(thr.baseAddress!)
                    return InputValidation.firstFailure(in: 0..<probabilities.count) { range in
                        var bad: Int?
                        for i in range {
                            let probability = Float(pb.pointer[i])
                            if !(probability >= 0 && probability <= 1) {
                                bad = bad ?? i
                                o.pointer[i] = 0
                                continue
                            }
                            o.pointer[i] =
                                precision.testScore(probability: probability) <= tb.pointer[i % plane] ? 1 : 0
                        }
                        return bad
                    }
                }
            }
        }
        if let bad {
            throw .invalidProbability(
                source: probabilitiesSource, value: Float(probabilities.withUnsafeBufferPointer { $0[bad] }),
                at: InputValidation.multiIndex(bad, shape: probabilities.shape))
        }
        return sets
    }
}

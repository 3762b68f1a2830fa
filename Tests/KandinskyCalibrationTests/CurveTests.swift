import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// Curves against numpy.nanquantile (scripts/fixtures/make_calibration_fixtures.py).
@Suite struct CurveTests {
    let fixture = CalibrationFixture.shared.calibration

    func store(_ precision: ScorePrecision) throws -> ScoreStore {
        try ScoreStore(
            probabilities: fixture.probabilities.tensor, targets: fixture.targets.bytes, precision: precision)
    }

    @Test(arguments: [ScorePrecision.float, .halfProbabilities])
    func pixelwiseCurvesMatchNumpy(precision: ScorePrecision) throws {
        let curves = try Calibrator(grouping: PixelwiseGrouping(), levelCount: fixture.levels, rule: .linear).calibrate(
            store(precision))
        let expected = precision == .float ? fixture.pixelwise_float : fixture.pixelwise_half
        #expect(curves.curves.shape == expected.shape)
        expectClose(curves.curves.scalars, expected.doubles, tolerance: 1e-6, "pixelwise \(precision)")
        // Class 1 never occurs at (2, 0): NaN at every level.
        #expect((0..<fixture.levels).allSatisfy { curves.curves[$0, 1, 2, 0].isNaN })
    }

    @Test(arguments: [ScorePrecision.float, .halfProbabilities])
    func imagewiseCurvesPoolAllPixelsOfAClass(precision: ScorePrecision) throws {
        let curves = try Calibrator(grouping: ImagewiseGrouping(), levelCount: fixture.levels, rule: .linear).calibrate(
            store(precision))
        let expected = precision == .float ? fixture.image_float : fixture.image_half
        let q = fixture.levels
        for c in 0..<2 {
            let column = (0..<q).map { expected.doubles[$0 * 2 + c] }
            for (h, w) in [(0, 0), (2, 0), (1, 3)] {
                expectClose((0..<q).map { curves.curves[$0, c, h, w] }, column, tolerance: 1e-6, "image class \(c)")
            }
        }
        // Independent count of class-1 targets: every target value of channel 1.
        let shape = fixture.targets.shape
        let plane = shape[2] * shape[3]
        let classOneTargets = (0..<shape[0]).reduce(0) { sum, n in
            sum + (0..<plane).reduce(0) { $0 + Int(fixture.targets.doubles[(n * 2 + 1) * plane + $1]) }
        }
        #expect(curves.groupSampleCounts[1] == [classOneTargets])
    }

    @Test func pooledCurvesFollowTheLabelMap() throws {
        let scores = try store(.float)
        let labels = fixture.group_labels_class1.int32
        let pooled = scores.pooledCurves(
            ofClass: 1, labels: labels, groupCount: 3,
            levels: Quantiles.equallySpacedLevels(count: fixture.levels), rule: .linear)
        #expect(pooled.sampleCounts == fixture.pooled_counts_class1)
        expectClose(pooled.curves.scalars, fixture.pooled_float_class1.doubles, tolerance: 1e-6, "pooled")
    }

    @Test func largePoolsUseTheExactHistogramPath() throws {
        let large = CalibrationFixture.shared.large_pool
        #expect(large.count >= PooledQuantiles.histogramThreshold)
        let p = Tensor(shape: [400, 1, 10, 10]) { out in
            for i in 0..<out.count { out[i] = Float(Double((i * 7919) % 10007) / 10007) }
        }
        let t = ShapedArray<UInt8>(shape: [400, 1, 10, 10], repeating: 1)
        let curves = try Calibrator(grouping: ImagewiseGrouping(), levelCount: large.levels, rule: .linear).calibrate(
            probabilities: p, targets: t)
        expectClose(
            (0..<large.levels).map { curves.curves[$0, 0, 3, 7] }, large.quantiles.doubles, tolerance: 1e-6, "histogram"
        )
        #expect(curves.groupSampleCounts == [[large.count]])
    }

    @Test(arguments: [Strategy.pixel, .image, .kmeans, .annulus])
    func aClassWithoutTargetsIsAlwaysInTheSetUnderConformalAndNeverUnderLinear(strategy: Strategy) throws {
        let p = Tensor(shape: [2, 2, 1, 2], repeating: 0.5)
        let t = ShapedArray<UInt8>(shape: [2, 2, 1, 2], scalars: [1, 1, 0, 0, 1, 0, 0, 0])
        let scores = try ScoreStore(probabilities: p, targets: t)
        let conformal = try calibrate(strategy.make(), scores, levelCount: 100, rule: .conformal)
        let linear = try calibrate(strategy.make(), scores, levelCount: 100, rule: .linear)
        for k in [0, 50, 99] {
            for w in 0..<2 {
                #expect(conformal.curves[k, 1, 0, w] == .infinity)
                #expect(linear.curves[k, 1, 0, w].isNaN)
            }
        }
    }

    @Test func thresholdsInterpolateBetweenCurvePoints() {
        // Q = 5 points 0, 0.1, 0.2, 0.4, 0.8 at levels 0, 0.25, 0.5, 0.75, 1.
        let curves = CalibratedCurves(
            curves: Tensor(shape: [5, 1, 1, 1], scalars: [0, 0.1, 0.2, 0.4, 0.8]),
            method: "test", calibrationImageCount: 1, rule: .linear)
        // Level 0.9: g = 3.6 → 0.4 + 0.6·0.4 = 0.64.
        #expect(abs(curves.threshold(atLevel: 0.9)[0, 0, 0] - 0.64) < 1e-6)
        #expect(curves.threshold(atLevel: 0.5)[0, 0, 0] == 0.2)
        #expect(curves.threshold(atLevel: 1)[0, 0, 0] == 0.8)
        // Reference: index ⌊0.9·5⌋ = 4 → 0.8; ⌊0.5·5⌋ = 2 → 0.2; level 1 clamps to index 4.
        #expect(curves.threshold(atLevel: 0.9, indexing: .reference)[0, 0, 0] == 0.8)
        #expect(curves.threshold(atLevel: 0.5, indexing: .reference)[0, 0, 0] == 0.2)
        #expect(curves.threshold(atLevel: 1, indexing: .reference)[0, 0, 0] == 0.8)
        // At or above (the conformal default): ⌈0.9·4⌉ = 4 → 0.8; ⌈0.5·4⌉ = 2 → 0.2; 0.25 is
        // stored, and a level one rounding error above it still reads it.
        #expect(curves.threshold(atLevel: 0.9, indexing: .atOrAbove)[0, 0, 0] == 0.8)
        #expect(curves.threshold(atLevel: 0.5, indexing: .atOrAbove)[0, 0, 0] == 0.2)
        #expect(curves.threshold(atLevel: 0.25.nextUp, indexing: .atOrAbove)[0, 0, 0] == 0.1)
        #expect(curves.threshold(atLevel: 0.26, indexing: .atOrAbove)[0, 0, 0] == 0.2)
        // Interpolating towards +∞ gives +∞, and +∞ stays +∞ (never NaN).
        let infinite = CalibratedCurves(
            curves: Tensor(shape: [3, 1, 1, 1], scalars: [0.5, .infinity, .infinity]),
            method: "test", calibrationImageCount: 1)
        #expect(infinite.threshold(atLevel: 0.25, indexing: .interpolated)[0, 0, 0] == .infinity)
        #expect(infinite.threshold(atLevel: 0.75, indexing: .interpolated)[0, 0, 0] == .infinity)
        #expect(infinite.defaultIndexing == .atOrAbove && curves.defaultIndexing == .interpolated)
    }
}

import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// Coverage, CE, ECE and prediction sets against the literal numpy implementation of the
/// definitions (scripts/fixtures/make_calibration_fixtures.py).
@Suite struct EvaluationTests {
    let fixture = CalibrationFixture.shared.evaluation
    var curves: CalibratedCurves {
        CalibratedCurves(curves: fixture.curves.tensor, method: "fixture", calibrationImageCount: 1)
    }

    @Test(arguments: [ThresholdIndexing.interpolated, .reference])
    func coverageAndCalibrationErrorMatchTheDefinition(indexing: ThresholdIndexing) throws {
        let expected = indexing == .interpolated ? fixture.interpolated : fixture.reference
        let result = try CoverageEvaluation(binCount: fixture.bins, indexing: indexing, classIndex: fixture.class_index)
            .evaluate(curves, probabilities: fixture.probabilities.tensor, targets: fixture.targets.bytes)
        expectClose(result.pixelwiseCalibrationError.scalars, expected.pixelwise_ce.doubles, tolerance: 1e-6, "CE map")
        expectClose(
            result.marginalCoverages.map(Float.init), expected.marginal_coverages.doubles, tolerance: 1e-6, "coverages")
        #expect(abs(result.marginalCalibrationError - expected.marginal_ce) < 1e-12)
        #expect(abs(result.meanPixelwiseCalibrationError - expected.mean_pixelwise_ce) < 1e-6)
        #expect(result.confidences == [0.125, 0.375, 0.625, 0.875])
        #expect(result.pixelwiseCalibrationError[2, 2].isNaN)
    }

    @Test func referenceIndicesFollowTheNotebook() {
        // Q = 100, K = 20: pixelwise ⌊(i + 1)·5⌋ − 1, marginal ⌊(i + 0.5)·5⌋ − 1.
        #expect(CoverageEvaluation.referenceIndex(bin: 0, binCount: 20, levelCount: 100, pixelwise: true) == 4)
        #expect(CoverageEvaluation.referenceIndex(bin: 19, binCount: 20, levelCount: 100, pixelwise: true) == 99)
        #expect(CoverageEvaluation.referenceIndex(bin: 0, binCount: 20, levelCount: 100, pixelwise: false) == 1)
        #expect(CoverageEvaluation.referenceIndex(bin: 19, binCount: 20, levelCount: 100, pixelwise: false) == 96)
    }

    @Test func uncalibratedProbabilityMapsMatchTheDefinition() throws {
        let result = try ProbabilityCalibration(classIndex: fixture.class_index)
            .evaluate(probabilities: fixture.probabilities.tensor, targets: fixture.targets.bytes, pixel: (1, 2))
        expectClose(result.pixelwiseECE.scalars, fixture.pixelwise_ece.doubles, tolerance: 1e-6, "ECE map")
        expectClose(
            result.structureFrequency.scalars, fixture.structure_frequency.doubles, tolerance: 1e-7, "frequency")
        // The reliability of pixel (1, 2) of the 3 × 4 images: the script's ECE there, and its
        // nine class-1 predictions above 0.02 counted into bins ⌊20p⌋ (capped at 19).
        let atPixel = try #require(result.atPixel)
        let values = fixture.probabilities.doubles
        let atPixelValues = (0..<9).map { Float(values[(($0 * 2 + 1) * 3 + 1) * 4 + 2]) }.filter { $0 > 0.02 }
        var atPixelCounts = [Int](repeating: 0, count: 20)
        for p in atPixelValues { atPixelCounts[min(Int(p * 20), 19)] += 1 }
        #expect(abs(atPixel.expectedCalibrationError - fixture.pixelwise_ece.doubles[1 * 4 + 2]) < 1e-6)
        #expect(atPixel.counts == atPixelCounts)
        #expect(atPixelValues.count == 9 && atPixelCounts.filter { $0 > 0 }.count > 1, "\(atPixelCounts)")
        // Pooled bins count every class-1 prediction above 0.02.
        let counted = (0..<9).reduce(0) { sum, n in
            sum + (0..<12).filter { Float(values[(n * 2 + 1) * 12 + $0]) > 0.02 }.count
        }
        #expect(result.pooled.counts.reduce(0, +) == counted)
        #expect(counted < 9 * 12, "the fixture has a prediction below the cut-off")
    }

    @Test func pooledReliabilityHandDerived() throws {
        // One pixel, four images: p = 0.01 (ignored), 0.3, 0.32, 0.9 with targets 1, 0, 1, 1.
        let p = Tensor(shape: [4, 1, 1, 1], scalars: [0.01, 0.3, 0.32, 0.9])
        let t = ShapedArray<UInt8>(shape: [4, 1, 1, 1], scalars: [1, 0, 1, 1])
        let result = try ProbabilityCalibration(classIndex: 0).evaluate(probabilities: p, targets: t)
        // Bin 6 holds 0.3 and 0.32 (mean 0.31, frequency 0.5); bin 18 holds 0.9 (frequency 1).
        #expect(result.pooled.counts[6] == 2 && result.pooled.counts[18] == 1 && result.pooled.counts.reduce(0, +) == 3)
        #expect(abs(result.pooled.meanPredictions[6] - 0.31) < 1e-7)
        #expect(result.pooled.meanTargets[6] == 0.5)
        #expect(result.pooled.meanTargets[0].isNaN)
        // ECE = 2/3 · |0.5 − 0.31| + 1/3 · |1 − 0.9| = 0.16.
        #expect(abs(result.pooled.expectedCalibrationError - 0.16) < 1e-6)
        #expect(abs(result.pixelwiseECE[0, 0] - 0.16) < 1e-6)
        #expect(result.structureFrequency[0, 0] == 0.75)
    }

    @Test(arguments: [ThresholdIndexing.interpolated, .reference])
    func predictionSetsMatchTheDefinition(indexing: ThresholdIndexing) throws {
        let sets = try curves.predictionSets(
            probabilities: fixture.probabilities.tensor, alpha: fixture.alpha, indexing: indexing)
        let expected = indexing == .interpolated ? fixture.sets_interpolated : fixture.sets_reference
        #expect(sets.shape == expected.shape)
        #expect(sets.scalars == expected.bytes.scalars)
        // NaN curves at class 1, pixel (0, 3): never in the set.
        #expect((0..<sets.shape[0]).allSatisfy { sets[$0, 1, 0, 3] == 0 })
    }

    @Test func badInputsAreNamed() {
        let p = fixture.probabilities.tensor
        let t = fixture.targets.bytes
        expectCalibrationError(.classIndexOutOfRange, mentioning: "class index 2", "0..<2") {
            try CoverageEvaluation(classIndex: 2).evaluate(curves, probabilities: p, targets: t)
        }
        expectCalibrationError(.invalidCurves, mentioning: "c.safetensors", "curves", "[Q, C, H, W]", "[9, 2, 3, 5]") {
            try CoverageEvaluation().evaluate(
                curves, probabilities: Tensor(shape: [9, 2, 3, 5], repeating: 0.5),
                targets: ShapedArray(shape: [9, 2, 3, 5], repeating: 0), curvesSource: "c.safetensors")
        }
        expectCalibrationError(.invalidCurves, mentioning: "[4, 2, 4, 3]") {
            try curves.predictionSets(probabilities: Tensor(shape: [4, 2, 4, 3], repeating: 0.5), alpha: 0.1)
        }
        expectCalibrationError(.classWithoutTargets, mentioning: "class 1") {
            try CoverageEvaluation().evaluate(
                curves, probabilities: p, targets: ShapedArray(shape: t.shape, repeating: 0))
        }
        expectCalibrationError(.invalidProbability, mentioning: "2.0") {
            try curves.predictionSets(probabilities: Tensor(shape: [1, 2, 3, 4], repeating: 2), alpha: 0.1)
        }
        expectCalibrationError(.invalidParameter, mentioning: "pixel") {
            try ProbabilityCalibration().evaluate(probabilities: p, targets: t, pixel: (3, 0))
        }
        expectCalibrationError(.emptyInput) {
            try CoverageEvaluation().evaluate(
                curves, probabilities: Tensor(shape: [0, 2, 3, 4], repeating: 0),
                targets: ShapedArray(shape: [0, 2, 3, 4], repeating: 0))
        }
    }
}

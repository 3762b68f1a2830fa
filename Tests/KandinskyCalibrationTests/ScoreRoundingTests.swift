import KandinskyCore
import Testing

@testable import KandinskyCalibration

@Suite struct ScoreRoundingTests {
    /// 1 − 0.9 = 0.100000024 in Float32; the nearest Float16 is 0.0999755859375, below it, so
    /// rounding to nearest would store a score smaller than the test score of the same probability.
    @Test func storedScoresNeverUnderstateTheScore() {
        let s: Float = 1 - 0.9
        #expect(Float(Float16(s)) < s)
        let stored = ScorePrecision.float.halfScore(probability: 0.9)
        #expect(Float(stored) >= s)
        #expect(Float(stored.nextDown) < s)
        for p in stride(from: Float(0), through: 1, by: 1 / 997) {
            let stored = ScorePrecision.float.halfScore(probability: p)
            #expect(Float(stored) >= 1 - p && Float(stored.nextDown) < 1 - p)
        }
    }

    /// Every calibration image has p = 0.9 for its target class at both pixels; a test image
    /// with the same probabilities must have the target class in the set at every confidence.
    @Test func identicalCalibrationAndTestScoresAreCovered() throws {
        let n = 5
        // [class 0: pixel 0, pixel 1; class 1: pixel 0, pixel 1]; class 1 at pixel 0, class 0 at pixel 1.
        let probabilities = Tensor(shape: [n, 2, 1, 2], scalars: (0..<n).flatMap { _ in [Float(0.1), 0.9, 0.9, 0.1] })
        let targets = ShapedArray<UInt8>(shape: [n, 2, 1, 2], scalars: (0..<n).flatMap { _ in [UInt8(0), 1, 1, 0] })
        let curves = try Calibrator(grouping: PixelwiseGrouping(), levelCount: 100, rule: .linear).calibrate(
            probabilities: probabilities, targets: targets)
        for alpha in [0.01, 0.1, 0.5, 0.9] {
            let sets = try curves.predictionSets(probabilities: probabilities[leading: 0..<1], alpha: alpha)
            #expect(sets[0, 1, 0, 0] == 1, "alpha \(alpha)")
            #expect(sets[0, 0, 0, 1] == 1, "alpha \(alpha)")
        }
    }
}

import KandinskyCore
import Testing

@testable import KandinskyCalibration

@Suite struct ScoreStoreTests {
    @Test func storesOneHalfPerTargetPixelSortedAscending() throws {
        // N = 3, C = 1, H = 1, W = 2: pixel 0 is a target in images 0 and 2, pixel 1 in image 1.
        let p = Tensor(shape: [3, 1, 1, 2], scalars: [0.75, 0.5, 0.25, 0.125, 0.5, 0.0])
        let t = ShapedArray<UInt8>(shape: [3, 1, 1, 2], scalars: [1, 0, 0, 1, 1, 0])
        let store = try ScoreStore(probabilities: p, targets: t)
        #expect(store.scoreCount == 3)
        #expect(store.scoreBytes == 18)
        #expect(store.scores(ofClass: 0, pixel: 0) == [0.25, 0.5])
        #expect(store.scores(ofClass: 0, pixel: 1) == [0.875])
        #expect(store.scoreCount(ofClass: 0) == 3)
    }

    @Test func halfProbabilitiesTurnNearCertaintyIntoZero() throws {
        // 0.9999 rounds to 1 in Float16, so 1 − p is exactly 0; in Float32 it is 1e-4.
        let p = Tensor(shape: [1, 1, 1, 2], scalars: [0.9999, 0.3])
        let t = ShapedArray<UInt8>(shape: [1, 1, 1, 2], scalars: [1, 1])
        let half = try ScoreStore(probabilities: p, targets: t, precision: .halfProbabilities)
        let single = try ScoreStore(probabilities: p, targets: t, precision: .float)
        #expect(half.scores(ofClass: 0, pixel: 0) == [0])
        #expect(abs(single.scores(ofClass: 0, pixel: 0)[0] - 1e-4) < 1e-7)
        // Float16(0.3) = 1229·2⁻¹² = 0.300048828125; 1 − that = 0.699951171875 lies halfway
        // between the Float16 neighbours 1433·2⁻¹¹ and 1434·2⁻¹¹ and rounds to the even one.
        #expect(half.scores(ofClass: 0, pixel: 1) == [0.7001953125])
    }

    @Test func acceptsFloat16Probabilities() throws {
        let p = HalfTensor(shape: [2, 1, 1, 1], scalars: [0.25, 0.5])
        let t = ShapedArray<UInt8>(shape: [2, 1, 1, 1], scalars: [1, 1])
        #expect(try ScoreStore(probabilities: p, targets: t).scores(ofClass: 0, pixel: 0) == [0.5, 0.75])
    }

    @Test func rejectsMismatchedShapes() {
        let p = Tensor(shape: [2, 2, 3, 3], repeating: 0.5)
        let t = ShapedArray<UInt8>(shape: [2, 2, 3, 4], repeating: 1)
        expectCalibrationError(.shapeMismatch, mentioning: "t.npy", "[2, 2, 3, 4]", "[2, 2, 3, 3]") {
            try ScoreStore(probabilities: p, targets: t, probabilitiesSource: "p.npy", targetsSource: "t.npy")
        }
        expectCalibrationError(.shapeMismatch, mentioning: "rank-4") {
            try ScoreStore(
                probabilities: Tensor(shape: [2, 3], repeating: 0.5),
                targets: ShapedArray<UInt8>(shape: [2, 3], repeating: 1))
        }
    }

    @Test func rejectsProbabilitiesOutsideTheUnitIntervalOrNaN() {
        let t = ShapedArray<UInt8>(shape: [1, 1, 1, 3], repeating: 0)
        expectCalibrationError(.invalidProbability, mentioning: "p.npy", "1.5", "[0, 0, 0, 2]") {
            try ScoreStore(
                probabilities: Tensor(shape: [1, 1, 1, 3], scalars: [0.5, 0.2, 1.5]), targets: t,
                probabilitiesSource: "p.npy")
        }
        expectCalibrationError(.invalidProbability, mentioning: "nan", "[0, 0, 0, 1]") {
            try ScoreStore(probabilities: Tensor(shape: [1, 1, 1, 3], scalars: [0.5, .nan, 0.2]), targets: t)
        }
        expectCalibrationError(.invalidProbability, mentioning: "-0.1") {
            try ScoreStore(probabilities: Tensor(shape: [1, 1, 1, 3], scalars: [-0.1, 0.5, 0.2]), targets: t)
        }
    }

    @Test func rejectsTargetsOtherThanZeroOrOne() {
        let p = Tensor(shape: [1, 1, 1, 3], repeating: 0.5)
        expectCalibrationError(.invalidTarget, mentioning: "t.npy", "2", "[0, 0, 0, 1]") {
            try ScoreStore(
                probabilities: p, targets: ShapedArray<UInt8>(shape: [1, 1, 1, 3], scalars: [1, 2, 0]),
                targetsSource: "t.npy")
        }
    }

    @Test func rejectsEmptyInput() {
        expectCalibrationError(.emptyInput, mentioning: "[0, 2, 3, 3]") {
            try ScoreStore(
                probabilities: Tensor(shape: [0, 2, 3, 3], repeating: 0),
                targets: ShapedArray<UInt8>(shape: [0, 2, 3, 3], repeating: 0))
        }
    }
}

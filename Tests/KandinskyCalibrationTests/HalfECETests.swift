import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// `Fixtures/ece_half.json`, written once by `scripts/fixtures/make_ece_fixtures.py`.
struct HalfECEFixture: Decodable {
    let bins: Int
    let class_index: Int
    let probabilities: FixtureArray
    let targets: FixtureArray
    let half_pixelwise_ece: FixtureArray
    let float_pixelwise_ece: FixtureArray
    let half_pooled_ece: Double
    let half_pooled_counts: [Int]
    let float_pooled_ece: Double
    let float_pooled_counts: [Int]
    let differing_pixels: [Int]

    static let shared = try! fixtures.decode(HalfECEFixture.self, from: "ece_half.json")
}

/// The binned ECE in `half-probabilities` precision against numpy's float16 binning of the
/// original, and the exact Float32 binning of the default precision.
@Suite struct HalfECETests {
    let fixture = HalfECEFixture.shared

    @Test func halfBinningMatchesNumpyFromFloat32AndFloat16Inputs() throws {
        let p = fixture.probabilities.tensor
        let t = fixture.targets.bytes
        let evaluation = ProbabilityCalibration(
            binCount: fixture.bins, classIndex: fixture.class_index, precision: .halfProbabilities)
        let fromFloat = try evaluation.evaluate(probabilities: p, targets: t, pixel: (0, 1))
        let fromHalf = try evaluation.evaluate(probabilities: p.map { Float16($0) }, targets: t, pixel: (0, 1))
        for result in [fromFloat, fromHalf] {
            expectClose(
                result.pixelwiseECE.scalars, fixture.half_pixelwise_ece.doubles, tolerance: 1e-6, "half ECE map")
            #expect(result.pooled.counts == fixture.half_pooled_counts)
            #expect(result.pooled.counts.count == fixture.bins + 1)
            #expect(abs(result.pooled.expectedCalibrationError - fixture.half_pooled_ece) < 1e-12)
            let atPixel = try #require(result.atPixel)
            #expect(abs(atPixel.expectedCalibrationError - fixture.half_pixelwise_ece.doubles[1]) < 1e-12)
        }
        #expect(fromFloat.pixelwiseECE.scalars == fromHalf.pixelwiseECE.scalars)
    }

    @Test func floatBinningStaysExactAndDiffersAtTheEdges() throws {
        let p = fixture.probabilities.tensor
        let t = fixture.targets.bytes
        let exact = try ProbabilityCalibration(binCount: fixture.bins, classIndex: fixture.class_index)
            .evaluate(probabilities: p, targets: t)
        expectClose(exact.pixelwiseECE.scalars, fixture.float_pixelwise_ece.doubles, tolerance: 1e-6, "float ECE map")
        #expect(exact.pooled.counts == fixture.float_pooled_counts)
        #expect(abs(exact.pooled.expectedCalibrationError - fixture.float_pooled_ece) < 1e-12)
        let half = fixture.half_pixelwise_ece.doubles
        let differing = exact.pixelwiseECE.scalars.indices.filter {
            abs(Double(exact.pixelwiseECE.scalars[$0]) - half[$0]) > 1e-5
        }
        #expect(!fixture.differing_pixels.isEmpty)
        #expect(differing == fixture.differing_pixels)
    }

    @Test func halfBinsByHand() throws {
        // Float16(0.15) = 0.15002: Float32 puts 0.14999 in bin 2, Float16 division in bin 3.
        // 1.0 goes to the extra bin 20. Float16(0.02001) = Float16(0.02) is not counted; Float32 0.02001 is.
        // 0.3 with target 1: Float16(0.3) = 0.30005, residual Float16(0.30005 − 1) rounded to 2⁻¹¹.
        let values: [Float] = [0.14999, 1.0, 0.02001, 0.3]
        let p = Tensor(shape: [4, 1, 1, 1], scalars: values)
        let t = ShapedArray<UInt8>(shape: [4, 1, 1, 1], scalars: [0, 1, 1, 1])
        let half = try ProbabilityCalibration(classIndex: 0, precision: .halfProbabilities).evaluate(
            probabilities: p, targets: t)
        #expect(half.pooled.counts.count == 21)
        #expect(half.pooled.counts[3] == 1 && half.pooled.counts[20] == 1 && half.pooled.counts[6] == 1)
        #expect(half.pooled.counts.reduce(0, +) == 3)
        let h15 = Double(Float16(Float(0.14999)))
        let h3 = Double(Float16(Float(0.3)))
        #expect(half.pooled.meanPredictions[3] == h15)
        let r3 = Double(Float16(Float(Float16(Float(0.3))) - 1))
        #expect(r3 != h3 - 1, "the residual is rounded to Float16")
        #expect(abs(half.pooled.expectedCalibrationError - (h15 + 0 + abs(r3)) / 3) < 1e-15)
        let exact = try ProbabilityCalibration(classIndex: 0).evaluate(probabilities: p, targets: t)
        #expect(exact.pooled.counts.count == 20)
        #expect(
            exact.pooled.counts[2] == 1 && exact.pooled.counts[19] == 1 && exact.pooled.counts[0] == 1
                && exact.pooled.counts[6] == 1)
        let e = (Double(Float(0.14999)) + 0 + (1 - Double(Float(0.02001))) + (1 - Double(Float(0.3)))) / 4
        #expect(abs(exact.pooled.expectedCalibrationError - e) < 1e-12)
    }
}

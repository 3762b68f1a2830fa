import Foundation
import Testing
import KandinskyCore
@testable import KandinskyCalibration

/// An array from the fixture script: shape and row-major values, NaN as null.
struct FixtureArray: Decodable {
    let shape: [Int]
    let values: [Double?]

    var doubles: [Double] { values.map { $0 ?? .nan } }
    var tensor: Tensor { Tensor(shape: shape, scalars: doubles.map { Float($0) }) }
    var bytes: ShapedArray<UInt8> { ShapedArray(shape: shape, scalars: doubles.map { UInt8($0) }) }
    var int32: ShapedArray<Int32> { ShapedArray(shape: shape, scalars: doubles.map { Int32($0) }) }
}

/// `Fixtures/calibration.json`, written by `scripts/fixtures/make_calibration_fixtures.py`.
struct CalibrationFixture: Decodable {
    struct Calibration: Decodable {
        let probabilities: FixtureArray
        let targets: FixtureArray
        let levels: Int
        let pixelwise_float: FixtureArray
        let pixelwise_half: FixtureArray
        let image_float: FixtureArray
        let image_half: FixtureArray
        let group_labels_class1: FixtureArray
        let pooled_float_class1: FixtureArray
        let pooled_counts_class1: [Int]
    }
    struct LargePool: Decodable {
        let count: Int
        let levels: Int
        let quantiles: FixtureArray
    }
    struct Indexed: Decodable {
        let pixelwise_ce: FixtureArray
        let marginal_coverages: FixtureArray
        let marginal_ce: Double
        let mean_pixelwise_ce: Double
    }
    struct Evaluation: Decodable {
        let probabilities: FixtureArray
        let targets: FixtureArray
        let curves: FixtureArray
        let bins: Int
        let class_index: Int
        let interpolated: Indexed
        let reference: Indexed
        let pixelwise_ece: FixtureArray
        let structure_frequency: FixtureArray
        let sets_interpolated: FixtureArray
        let sets_reference: FixtureArray
        let alpha: Double
    }
    let calibration: Calibration
    let large_pool: LargePool
    let evaluation: Evaluation

    static let shared: CalibrationFixture = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/calibration.json")
        return try! JSONDecoder().decode(CalibrationFixture.self, from: Data(contentsOf: url))
    }()
}

/// Expects `actual` to match `expected` element by element within `tolerance` (absolute plus
/// relative), NaN matching NaN only.
func expectClose(_ actual: [Float], _ expected: [Double], tolerance: Double = 1e-6, _ what: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    var mismatches = 0
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let ok = e.isNaN ? a.isNaN : (!a.isNaN && abs(Double(a) - e) <= tolerance * (1 + abs(e)))
        if !ok {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(what)[\(i)] = \(a), expected \(e)", sourceLocation: sourceLocation) }
        }
    }
}

/// Expects `body` to throw a ``CalibrationError`` of `kind` whose message mentions `mentions`.
func expectCalibrationError<T>(_ kind: CalibrationError.Kind, mentioning mentions: String...,
                               sourceLocation: SourceLocation = #_sourceLocation,
                               _ body: () throws -> T) {
    expectCalibrationError(kind, mentioningAll: mentions, sourceLocation: sourceLocation, body)
}

/// ``expectCalibrationError(_:mentioning:sourceLocation:_:)`` with the texts as an array.
func expectCalibrationError<T>(_ kind: CalibrationError.Kind, mentioningAll mentions: [String],
                               sourceLocation: SourceLocation = #_sourceLocation,
                               _ body: () throws -> T) {
    do {
        _ = try body()
        Issue.record("expected a \(kind) error", sourceLocation: sourceLocation)
    } catch let error as CalibrationError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        for text in mentions {
            #expect(error.description.contains(text), "\(error.description) should mention \(text)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a CalibrationError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Synthetic segmentation data where calibration and test images are exchangeable.
///
/// Class 1 has a location-dependent base rate (a blob in the centre); the model's probability
/// p₁ is a miscalibrated transform of a per-image, per-pixel latent value, and the target is a
/// Bernoulli draw of the true probability. Class 0 is the complement.
enum SyntheticData {
    static func make(images n: Int, height h: Int, width w: Int,
                     using generator: inout some RandomNumberGenerator) -> (probabilities: Tensor, targets: ShapedArray<UInt8>) {
        var p = [Float](repeating: 0, count: n * 2 * h * w)
        var t = [UInt8](repeating: 0, count: n * 2 * h * w)
        for image in 0..<n {
            for row in 0..<h {
                for col in 0..<w {
                    let dy = Double(row) - Double(h - 1) / 2, dx = Double(col) - Double(w - 1) / 2
                    let centrality = exp(-(dx * dx + dy * dy) / Double(max(h, w)))
                    let latent = centrality * 4 - 2 + generator.nextNormal()
                    let truth = 1 / (1 + exp(-latent))
                    let predicted = Float(1 / (1 + exp(-2.5 * latent)))  // overconfident
                    let positive: UInt8 = generator.nextUnitDouble() < truth ? 1 : 0
                    let pixel = row * w + col
                    p[(image * 2 + 1) * h * w + pixel] = predicted
                    p[(image * 2) * h * w + pixel] = 1 - predicted
                    t[(image * 2 + 1) * h * w + pixel] = positive
                    t[(image * 2) * h * w + pixel] = 1 - positive
                }
            }
        }
        return (Tensor(shape: [n, 2, h, w], scalars: p), ShapedArray(shape: [n, 2, h, w], scalars: t))
    }
}

/// The bytes of a tensor, so that curves compare bit for bit (NaN equal to NaN).
func bitsOf(_ tensor: Tensor) -> [UInt8] { tensor.withUnsafeBytes { Array($0) } }

/// Expects two calibrations to be the same: curves bit for bit, groups and findings, every
/// count and the metadata they write.
func expectSameCurves(_ actual: CalibratedCurves, _ expected: CalibratedCurves, _ what: String = "",
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.curves.shape == expected.curves.shape, "\(what)", sourceLocation: sourceLocation)
    #expect(bitsOf(actual.curves) == bitsOf(expected.curves), "\(what): curves differ", sourceLocation: sourceLocation)
    #expect(actual.groups == expected.groups, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.method == expected.method && actual.parameters == expected.parameters, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.calibrationImageCount == expected.calibrationImageCount, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.precision == expected.precision && actual.rule == expected.rule, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.groupSampleCounts == expected.groupSampleCounts, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.groupImageCounts == expected.groupImageCounts, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.safetensors.metadata == expected.safetensors.metadata, "\(what)", sourceLocation: sourceLocation)
}

/// The format-2 files of `Fixtures/format2/` (see its README), by name.
enum FormatTwoFixtures {
    static let names = ["gen-ann-linear", "kmeans-conformal", "kmeans-fallback-group"]

    static func url(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/format2/\(name).safetensors")
    }
}

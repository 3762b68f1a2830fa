import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// The committed fixtures (each file names the script that writes it).
let fixtures = Fixtures(in: .module)

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

    static let shared = try! fixtures.decode(CalibrationFixture.self, from: "calibration.json")
}

/// Expects `body` to throw a ``CalibrationError`` of `kind` whose message mentions `mentions`.
func expectCalibrationError<T>(
    _ kind: CalibrationError.Kind, mentioning mentions: String...,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) {
    expectCalibrationError(kind, mentioningAll: mentions, sourceLocation: sourceLocation, body)
}

/// ``expectCalibrationError(_:mentioning:sourceLocation:_:)`` with the texts as an array.
func expectCalibrationError<T>(
    _ kind: CalibrationError.Kind, mentioningAll mentions: [String],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) {
    do {
        _ = try body()
        Issue.record("expected a \(kind) error", sourceLocation: sourceLocation)
    } catch let error as CalibrationError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        for text in mentions {
            #expect(
                error.description.contains(text), "\(error.description) should mention \(text)",
                sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a CalibrationError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// The bytes of a tensor, so that curves compare bit for bit (NaN equal to NaN).
func bitsOf(_ tensor: Tensor) -> [UInt8] { tensor.withUnsafeBytes { Array($0) } }

/// Expects two calibrations to be the same: curves bit for bit, groups and findings, every
/// count and the metadata they write.
func expectSameCurves(
    _ actual: CalibratedCurves, _ expected: CalibratedCurves, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.curves.shape == expected.curves.shape, "\(what)", sourceLocation: sourceLocation)
    #expect(bitsOf(actual.curves) == bitsOf(expected.curves), "\(what): curves differ", sourceLocation: sourceLocation)
    #expect(actual.groups == expected.groups, "\(what)", sourceLocation: sourceLocation)
    #expect(
        actual.method == expected.method && actual.parameters == expected.parameters, "\(what)",
        sourceLocation: sourceLocation)
    #expect(actual.calibrationImageCount == expected.calibrationImageCount, "\(what)", sourceLocation: sourceLocation)
    #expect(
        actual.precision == expected.precision && actual.rule == expected.rule, "\(what)",
        sourceLocation: sourceLocation)
    #expect(actual.groupSampleCounts == expected.groupSampleCounts, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.groupImageCounts == expected.groupImageCounts, "\(what)", sourceLocation: sourceLocation)
    #expect(actual.safetensors.metadata == expected.safetensors.metadata, "\(what)", sourceLocation: sourceLocation)
}

/// The format-2 files of `Fixtures/format2/` (see its README), by name.
enum FormatTwoFixtures {
    static let names = ["gen-ann-linear", "kmeans-conformal", "kmeans-fallback-group"]

    static func url(_ name: String) -> URL {
        fixtures.url("format2/\(name).safetensors")
    }
}

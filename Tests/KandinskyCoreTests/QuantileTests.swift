import Foundation
import Testing
@testable import KandinskyCore

/// One case of `quantiles.json`: `numpy.nanquantile(input, levels, axis)`.
struct QuantileCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let dtype: String
    let shape: [Int]
    let axis: Int
    let data_hex: String
    let levels_hex: String
    let expected_shape: [Int]
    let expected_hex: String

    var testDescription: String { name }

    static func doubles(hex: String) -> [Double] {
        let raw = bytes(hex: hex)
        return stride(from: 0, to: raw.count, by: 8).map { start in
            Double(bitPattern: raw[start..<start + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }

    var levels: [Double] { Self.doubles(hex: levels_hex) }
    var expected: [Double] { Self.doubles(hex: expected_hex) }

    func input<Scalar: BitwiseCopyable>(_: Scalar.Type) -> ShapedArray<Scalar> {
        let raw = bytes(hex: data_hex)
        return ShapedArray(shape: shape) { buffer in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: raw, count: raw.count))
        }
    }
}

@Suite struct QuantileTests {
    static let cases = try! Fixtures.decode([String: [QuantileCase]].self, from: "quantiles.json")["cases"]!

    /// Every result equals numpy's float64 result rounded to Float32 (NaN where numpy gives NaN).
    @Test(arguments: cases)
    func matchesNumpyNanquantile(_ fixture: QuantileCase) {
        let result: Tensor = switch fixture.dtype {
        case "float32": fixture.input(Float.self).nanQuantiles(levels: fixture.levels, alongAxis: fixture.axis)
        case "float16": fixture.input(Float16.self).nanQuantiles(levels: fixture.levels, alongAxis: fixture.axis)
        default: preconditionFailure("unexpected dtype \(fixture.dtype)")
        }
        #expect(result.shape == fixture.expected_shape)
        var mismatches: [String] = []
        for (index, (ours, numpy)) in zip(result.scalars, fixture.expected).enumerated() {
            let reference = Float(numpy)
            if !(ours == reference || (ours.isNaN && reference.isNaN)) {
                mismatches.append("[\(index)] ours \(ours) numpy \(numpy)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(5))")
    }

    @Test func fixturesCoverTheSpecialSlices() throws {
        // The special case's columns: NaNs, all NaN, single value, ties, plain, two values.
        let special = Self.cases.first { $0.name == "special_f32_axis0" }!
        let expected = special.expected
        let columns = 6
        #expect(special.levels.first == 0 && special.levels.last == 1)
        #expect((0..<special.levels.count).allSatisfy { expected[$0 * columns + 1].isNaN })
        #expect((0..<special.levels.count).allSatisfy { expected[$0 * columns + 2] == 0.75 })
        // Ties: four 2s and two 1s; the median is 2.
        #expect(expected[3 * columns + 3] == 2)
    }

    @Test func equallySpacedLevelsMatchTheFixtureLevels() {
        let hundred = Self.cases.first { $0.name == "hundred_f32_axis0" }!.levels
        #expect(Quantiles.equallySpacedLevels(count: 100) == hundred)
    }

    @Test func handDerivedInterpolation() {
        // Sorted non-NaN values 1, 2, 4, 8: q = 0.5 → position 1.5 → 3; q = 1/3 → position 1 → 2.
        let a = Tensor(shape: [6, 1], scalars: [8, .nan, 1, 4, .nan, 2])
        let q = a.nanQuantiles(levels: [0, 1.0 / 3, 0.5, 0.9, 1], alongAxis: 0)
        #expect(q.shape == [5, 1])
        // q = 0.9 → position 2.7, weight 0.7 ≥ 0.5, so numpy evaluates 8 − (8 − 4)·(1 − 0.7).
        #expect(q.scalars == [1, 2, 3, Float(8.0 - 4.0 * (1 - (3 * 0.9 - 2))), 8])
    }
}

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
            raw.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
        }
    }
}

@Suite struct QuantileTests {
    static let cases = try! fixtures.decode([String: [QuantileCase]].self, from: "quantiles.json")["cases"]!

    /// Every result equals numpy's float64 result rounded to Float32 (NaN where numpy gives NaN).
    @Test(arguments: cases)
    func matchesNumpyNanquantile(_ fixture: QuantileCase) {
        let result: Tensor =
            switch fixture.dtype {
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

    @Test func halfWideningIsExactForEveryBitPattern() {
        for bits in UInt16.min...UInt16.max {
            let half = Float16(bitPattern: bits)
            let widened = Float16.widenedUnlessNaN(half)
            if half.isNaN {
                #expect(widened == nil, "\(bits)")
            } else if widened?.bitPattern != Float(half).bitPattern {
                Issue.record("bit pattern \(bits): \(String(describing: widened)) != \(Float(half))")
            }
        }
    }

    /// Selection places every requested rank where a full sort would, on data with many ties,
    /// sorted and reversed runs, for dense and sparse rank sets.
    @Test func multiSelectPlacesRequestedRanksLikeASort() {
        var generator = SeededGenerator(seed: 7)
        for trial in 0..<200 {
            let m = Int.random(in: 1...3000, using: &generator)
            let distinct = [2, 10, 1000][trial % 3]
            var values = (0..<m).map { _ in Float(Int.random(in: 0..<distinct, using: &generator)) }
            if trial % 5 == 1 { values.sort() }
            if trial % 5 == 2 { values.sort(by: >) }
            let rankCount = Int.random(in: 1...min(m, 200), using: &generator)
            let ranks = Array(Set((0..<rankCount).map { _ in Int.random(in: 0..<m, using: &generator) })).sorted()
            let reference = values.sorted()
            let workspace = Quantiles.Workspace()
            workspace.reserve(keys: m, ranks: 0)
            values.withUnsafeMutableBufferPointer { buffer in
                ranks.withUnsafeBufferPointer { ranks in
                    Quantiles.multiSelect(buffer.baseAddress!, 0, m, ranks[...], depthBudget: 40, workspace: workspace)
                }
            }
            let wrong = ranks.filter { values[$0] != reference[$0] }
            #expect(wrong.isEmpty, "trial \(trial): m \(m), ranks misplaced: \(wrong.prefix(5))")
            #expect(values.sorted() == reference, "trial \(trial) lost or duplicated values")
        }
    }

    @Test func sortFallsBackWhenTheDepthBudgetRunsOut() {
        var generator = SeededGenerator(seed: 8)
        var values = (0..<500).map { _ in Float(generator.nextUnitFloat()) }
        let reference = values.sorted()
        values.withUnsafeMutableBufferPointer { Quantiles.sort($0.baseAddress!, 0, $0.count, depthBudget: 1) }
        #expect(values == reference)
    }

    @Test func radixSortOrdersSignedValuesAndInfinities() {
        var generator = SeededGenerator(seed: 9)
        var values: [Float] = [
            .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude,
        ]
        values += (0..<400).map { _ in Float(generator.nextNormal() * 1000) }
        values += (0..<100).map { _ in Float(Float16(generator.nextNormal())) }
        let reference = values.sorted()
        let workspace = Quantiles.Workspace()
        workspace.reserve(keys: values.count, ranks: 0)
        values.withUnsafeMutableBufferPointer {
            Quantiles.radixSort($0.baseAddress!, count: $0.count, workspace: workspace)
        }
        #expect(values == reference)
        #expect(values.first == -.infinity && values.last == .infinity)
    }
}

import Foundation
import KandinskyTestSupport
import Testing

/// The committed parity fixtures (see scripts/fixtures/make_data_fixtures.py).
let fixtures = Fixtures(in: .module)

/// Unpacks `numpy.packbits` output (most significant bit first) into `count` 0/1 bytes.
func unpackBits(_ packed: Data, count: Int) -> [UInt8] {
    (0..<count).map { i in (packed[packed.startIndex + i / 8] >> (7 - UInt8(i % 8))) & 1 }
}

/// Expects two byte buffers to agree within `tolerance` per sample, reporting the first difference.
func expectBytes(
    _ actual: [UInt8], _ expected: [UInt8], tolerance: Int = 0, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) samples, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = 0
    var worstIndex = -1
    for i in actual.indices {
        let d = abs(Int(actual[i]) - Int(expected[i]))
        if d > worst {
            worst = d
            worstIndex = i
        }
    }
    #expect(
        worst <= tolerance, "\(what): sample \(worstIndex) differs by \(worst) (tolerance \(tolerance))",
        sourceLocation: sourceLocation)
}

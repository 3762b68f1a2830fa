import Foundation
import KandinskyTestSupport
import Testing

@testable import KandinskyCore

/// The committed fixtures, written by `scripts/fixtures/make_core_fixtures.py`.
let fixtures = Fixtures(in: .module)

/// Bytes from a lowercase hex string, as the fixture script writes them.
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

/// The raw little-endian bytes of an array.
func rawBytes(_ array: AnyShapedArray) -> [UInt8] {
    array.withUnsafeBytes { Array($0) }
}

/// Expects `body` to throw a ``FileFormatError`` for `file` whose field is `field` and whose
/// problem mentions `problemMentions`.
func expectFileFormatError(
    file: URL, field: String, problemMentions: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected a FileFormatError for field \(field)", sourceLocation: sourceLocation)
    } catch let error as FileFormatError {
        #expect(error.file == file.path, sourceLocation: sourceLocation)
        #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
        #expect(error.problem.contains(problemMentions), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a FileFormatError, got \(error)", sourceLocation: sourceLocation)
    }
}

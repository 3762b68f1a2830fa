import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// The shared test helpers fail when they should: a helper that cannot fail would make every
/// test built on it pass vacuously.
@Suite struct TestSupportTests {
    @Test func closeComparisonOfEachElementFailsOnAMismatchNaNOrCount() {
        // 1000.0005 (about 1000.00049 in Float) is within 1e-6 · (1 + 1000) of 1000.
        expectClose([1, .nan, 1000.0005], [1, .nan, 1000], tolerance: 1e-6)
        withKnownIssue { expectClose([1.01], [1], tolerance: 1e-3) }
        withKnownIssue { expectClose([1], [.nan], tolerance: 1) }
        withKnownIssue { expectClose([.nan], [1], tolerance: 1) }
        withKnownIssue { expectClose([1, 2], [1], tolerance: 1) }
    }

    @Test func closeComparisonAgainstTheLargestFailsOnAMismatchNaNOrShape() {
        let expected = Tensor(shape: [2], scalars: [1e-3, 100])
        // 1e-6 off: within 1e-7 · 100, though not within 1e-7 of the entry itself.
        expectClose(Tensor(shape: [2], scalars: [1e-3 + 1e-6, 100]), expected, tolerance: 1e-7)
        withKnownIssue { expectClose(Tensor(shape: [2], scalars: [2e-3, 100]), expected, tolerance: 1e-7) }
        withKnownIssue { expectClose(Tensor(shape: [2], scalars: [.nan, 100]), expected, tolerance: 1) }
        withKnownIssue { expectClose(Tensor(shape: [1, 2], scalars: [1e-3, 100]), expected, tolerance: 1) }
    }

    /// Two scratch directories open at once differ and start empty; each is gone with what was
    /// written in it once its body has returned, or thrown.
    @Test func scratchDirectoriesAreNewEmptyAndRemovedAndFixturesAreFoundBothWays() throws {
        struct Thrown: Error {}
        let (a, b) = try withScratchDirectory("support") { a in
            try withScratchDirectory("support") { b in
                #expect(a != b)
                #expect(try FileManager.default.contentsOfDirectory(atPath: a.path).isEmpty)
                #expect(try FileManager.default.contentsOfDirectory(atPath: b.path).isEmpty)
                try Data("kept until the body ends".utf8).write(to: b.appendingPathComponent("file"))
                return (a, b)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: a.path) && !FileManager.default.fileExists(atPath: b.path))
        var thrownFrom: URL?
        #expect(throws: Thrown.self) {
            try withScratchDirectory("support") { url in
                thrownFrom = url
                throw Thrown()
            }
        }
        #expect(thrownFrom.map { !FileManager.default.fileExists(atPath: $0.path) } == true)
        let inBundle = try Data(contentsOf: fixtures.url("quantiles.json"))
        #expect(try Data(contentsOf: Fixtures(ofTestTarget: "KandinskyCoreTests").url("quantiles.json")) == inBundle)
    }

    @Test func processRunsReportStatusAndBothOutputs() throws {
        let run = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "echo out; echo err >&2; exit 3"])
        #expect(run.status == 3 && run.outputLines == ["out"] && run.errorLines == ["err"])
        #expect(run.processIdentifier > 0)
    }
}

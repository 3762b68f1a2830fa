import Foundation
import Testing
import KandinskyCore
@testable import KandinskyCalibration

/// The layout of the calibrated-model file against the files written before: `Fixtures/format2/`.
@Suite struct FileLayoutTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kandinsky-layout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func formatTwoFilesReadAndAreWrittenAgainByteForByte() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in FormatTwoFixtures.names {
            let original = try Data(contentsOf: FormatTwoFixtures.url(name))
            let curves = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url(name))
            #expect(curves.curves.shape == [11, 2, 8, 8] && curves.calibrationImageCount == 16, "\(name)")
            let rewritten = directory.appendingPathComponent("\(name).safetensors")
            try curves.write(to: rewritten)
            #expect(try Data(contentsOf: rewritten) == original, "\(name): written differently")
        }
        let kmeans = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url("kmeans-conformal"))
        #expect(kmeans.method == "kmeans" && kmeans.rule == .conformal && kmeans.groups.groupCounts == [4, 4])
        #expect(kmeans.groups.findings["group_split"] == "8 images chose the groups, 8 set the thresholds")
        let annulus = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url("gen-ann-linear"))
        #expect(annulus.rule == .linear && annulus.groups.groupCounts == [0, 4] && annulus.groups.findings["theta"] != nil)
    }
}

import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// `predict-sets` and `evaluate-scores` give the same files from the same curves in format 3
/// (what `calibrate-scores` writes) and in format 2 (the files written before it).
@Suite struct FileLayoutCLITests {
    /// The format-2 files of the calibration tests (see their README), 8 × 8 pixels.
    static let formatTwoFixtures = Fixtures(ofTestTarget: "KandinskyCalibrationTests").url("format2")

    /// The files under `directory`, by path relative to it.
    static func contents(of directory: URL) throws -> [String: Data] {
        let names = try FileManager.default.subpathsOfDirectory(atPath: directory.path).sorted()
        var files: [String: Data] = [:]
        for name in names {
            var isDirectory: ObjCBool = false
            let url = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[name] = try Data(contentsOf: url)
            }
        }
        return files
    }

    /// Runs `predict-sets` at two α and `evaluate-scores` with `curves`, writing under `tag`;
    /// returns every file written and the standard output with the output paths left out.
    static func outputs(_ curves: String, tag: String, in work: CalibrationCLITests.Workspace) throws -> (
        [String: Data], String
    ) {
        var stdout = ""
        for alpha in ["0.1", "0.3"] {
            let run = try runKandinsky([
                "predict-sets", "--probs", work.path("probs.npy"), "--curves", curves, "--alpha", alpha,
                "--out", work.path("\(tag)/sets\(alpha).npy"),
            ])
            #expect(run.status == 0, "\(tag): \(run.stderr)")
            stdout += run.stdout
        }
        let run = try runKandinsky([
            "evaluate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
            "--curves", curves, "--out", work.path("\(tag)/eval"), "--bins", "8",
        ])
        #expect(run.status == 0, "\(tag): \(run.stderr)")
        stdout += run.stdout
        return (try contents(of: work.url(tag)), stdout.replacingOccurrences(of: work.path(tag), with: "<out>"))
    }

    @Test func bothLayoutsPredictAndEvaluateTheSame() throws {
        try CalibrationCLITests.Workspace.with(images: 16, height: 8, width: 8) { work in
            try FileManager.default.createDirectory(at: work.url("format2"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: work.url("format3"), withIntermediateDirectories: true)
            let methods: [(String, [String])] = [
                ("pixel", ["--method", "pixel"]),
                ("image", ["--method", "image"]),
                ("kmeans", ["--method", "kmeans", "--clusters", "3"]),
                ("gen-ann", ["--method", "gen-ann", "--bounds=-2,2,-2,2,0,3,0,4,0,6", "--max-generations", "5"]),
                ("kmeans-fallback-group", ["--method", "kmeans", "--clusters", "3", "--fallback", "group"]),
                ("kmeans-linear", ["--method", "kmeans", "--clusters", "3", "--quantile", "linear"]),
            ]
            var pairs: [(name: String, format3: String, format2: String)] = []
            for (name, arguments) in methods {
                let format3 = work.path("format3/\(name).safetensors")
                let format2 = work.path("format2/\(name).safetensors")
                let run = try runKandinsky(
                    [
                        "calibrate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                        "--out", format3,
                    ] + arguments)
                #expect(run.status == 0, "\(name): \(run.stderr)")
                #expect(
                    try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: format3)).metadata["format_version"]
                        == "3")
                try CalibratedCurves.read(contentsOf: URL(fileURLWithPath: format3)).safetensors(layout: .dense)
                    .write(to: URL(fileURLWithPath: format2))
                pairs.append((name, format3, format2))
            }
            // Files written before format 3, and their format-3 rewrite.
            for name in ["gen-ann-linear", "kmeans-conformal", "kmeans-fallback-group"] {
                let format2 = Self.formatTwoFixtures.appendingPathComponent("\(name).safetensors")
                let format3 = work.path("format3/fixture-\(name).safetensors")
                try CalibratedCurves.read(contentsOf: format2).write(to: URL(fileURLWithPath: format3))
                pairs.append(("fixture \(name)", format3, format2.path))
            }
            for (index, pair) in pairs.enumerated() {
                let (compact, compactStdout) = try Self.outputs(pair.format3, tag: "out\(index)-3", in: work)
                let (dense, denseStdout) = try Self.outputs(pair.format2, tag: "out\(index)-2", in: work)
                #expect(compact.keys.sorted() == dense.keys.sorted(), "\(pair.name)")
                #expect(compact.count == 15, "\(pair.name): \(compact.keys.sorted())")
                for (file, bytes) in compact {
                    #expect(dense[file] == bytes, "\(pair.name): \(file) differs between the layouts")
                }
                #expect(compactStdout == denseStdout, "\(pair.name)")
                let sizes = try [pair.format3, pair.format2].map {
                    try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? 0
                }
                if pair.name != "pixel" {
                    #expect(sizes[0] < sizes[1], "\(pair.name): format 3 \(sizes[0]) bytes, format 2 \(sizes[1])")
                }
            }
        }
    }
}

import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// A dataset root with two 1 × 1 images and the given annotations.
private struct HostileRoot {
    let root: URL

    /// A valid 1 × 1 greyscale PNG of value 128.
    static let onePixelPNG: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3A,
        0x7E, 0x9B, 0x55, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x68,
        0x00, 0x00, 0x00, 0x82, 0x00, 0x81, 0x77, 0xCD, 0x72, 0xB6, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]

    /// Runs `body` with a root whose second image holds `secondImage`, removed afterwards.
    static func with(
        annotations: String, secondImage: [UInt8] = HostileRoot.onePixelPNG, _ body: (HostileRoot) throws -> Void
    ) throws {
        try withScratchDirectory("cli-hostile") { root in
            try body(HostileRoot(in: root, annotations: annotations, secondImage: secondImage))
        }
    }

    private init(in root: URL, annotations: String, secondImage: [UInt8]) throws {
        self.root = root
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Data(Self.onePixelPNG).write(to: root.appendingPathComponent("data/1.png"))
        try Data(secondImage).write(to: root.appendingPathComponent("data/2.png"))
        let images =
            #"[{"id": 1, "file_name": "1.png", "width": 1, "height": 1}, {"id": 2, "file_name": "2.png", "width": 1, "height": 1}]"#
        try Data(
            #"{"images": \#(images), "categories": [{"id": 1, "name": "person"}], "annotations": [\#(annotations)]}"#
                .utf8
        )
        .write(to: root.appendingPathComponent("labels.json"))
    }

    var labels: String { root.appendingPathComponent("labels.json").path }

    /// Runs `command` (`check-data`, or `dump-dataset`, which writes into `out` below the root) on this root at
    /// `dims`.
    func run(_ command: String, dims: String = "4x4") throws -> KandinskyRun {
        try runKandinsky(
            [command, "--root", root.path, "--dims", dims]
                + (command == "dump-dataset" ? ["--out", root.appendingPathComponent("out").path] : []))
    }
}

@Suite("Data commands on hostile input: one error line, exit 1, warnings for skipped annotations")
struct DataRobustnessCLITests {
    @Test("check-data with a broken image: one stderr line naming it and the count, exit 1, no usage text")
    func checkDataBrokenImage() throws {
        try HostileRoot.with(annotations: "", secondImage: Array("not an image".utf8)) { dataset in
            let run = try dataset.run("check-data", dims: "8x8")
            #expect(run.status == 1)
            #expect(run.errorLines.count == 1, "\(run.stderr)")
            let broken = dataset.root.appendingPathComponent("data/2.png").path
            #expect(
                run.errorLines.first
                    == "Error: \(broken): not a PNG or JPEG image (unrecognised first bytes) (1 of 2 images failed to load)"
            )
            #expect(!run.stdout.contains("USAGE") && !run.stderr.contains("USAGE"))
        }
    }

    @Test("an empty segmentation is skipped with one warning line, and check-data reports the count")
    func emptySegmentation() throws {
        try HostileRoot.with(
            annotations: #"{"id": 22, "image_id": 1, "category_id": 1, "segmentation": [], "iscrowd": 0}"#
        ) { dataset in
            let dump = try dataset.run("dump-dataset")
            #expect(dump.status == 0, "\(dump.stderr)")
            #expect(
                dump.errorLines == [
                    "warning: \(dataset.labels): skipped 1 annotation with an empty segmentation (id 22)"
                ])
            #expect(
                try NumpyFile.read(contentsOf: dataset.root.appendingPathComponent("out/targets.npy")).shape == [
                    2, 2, 4, 4,
                ])
            let check = try dataset.run("check-data")
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("1 annotations (1 with an empty segmentation, skipped); 2/2 images decode"))
        }
    }

    @Test("an RLE whose counts overflow, and a NaN in the manifest, are one error line each")
    func badManifests() throws {
        try HostileRoot.with(
            annotations:
                #"{"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": {"size": [1, 1], "counts": [4611686018427387904, 4611686018427387904]}}"#
        ) { overflow in
            for command in ["check-data", "dump-dataset"] {
                let run = try overflow.run(command)
                #expect(run.status == 1)
                #expect(
                    run.errorLines == [
                        "Error: \(overflow.labels): annotations[0].segmentation.counts[0]: annotation 7: run lengths up to run 0 already sum to 4611686018427387904, more than height · width = 1"
                    ])
            }
            #expect(!FileManager.default.fileExists(atPath: overflow.root.appendingPathComponent("out").path))
        }

        try HostileRoot.with(
            annotations: #"{"id": 7, "image_id": 1, "category_id": 1, "area": NaN, "segmentation": []}"#
        ) { nan in
            let run = try nan.run("dump-dataset")
            #expect(run.status == 1)
            #expect(run.errorLines.count == 1 && run.errorLines.first?.contains("labels.json: line 1, column ") == true)
            #expect(run.stderr.contains("NaN is not valid JSON; write it with allow_nan=False or replace it"))
        }
    }

    @Test("--dims beyond ImageLimits.maximumPixelCount is refused before anything is allocated")
    func hugeDims() throws {
        try HostileRoot.with(annotations: "") { dataset in
            let run = try dataset.run("dump-dataset", dims: "100000x100000")
            #expect(run.status != 0)
            #expect(
                run.stderr.contains(
                    #"--dims must be WxH of positive integers with at most 268435456 pixels, got "100000x100000""#))
        }
    }
}

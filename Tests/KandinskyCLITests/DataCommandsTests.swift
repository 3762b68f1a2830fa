import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// The category names and the images' file names and sizes of a COCO manifest.
private func manifestFields(_ url: URL) throws -> (
    categories: [String], images: [(fileName: String, width: Int, height: Int)]
) {
    struct Manifest: Decodable {
        struct Category: Decodable { var name: String }
        struct Image: Decodable {
            var file_name: String
            var width: Int
            var height: Int
        }
        var categories: [Category]
        var images: [Image]
    }
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
    return (manifest.categories.map(\.name), manifest.images.map { ($0.file_name, $0.width, $0.height) })
}

@Suite("Data commands: synth, split, check-data, dump-dataset")
struct DataCommandsTests {
    @Test("the synthetic dataset goes through split, check-data and dump-dataset")
    func pipeline() throws {
        try withScratchDirectory("cli-data") { root in
            let synth = try runKandinsky([
                "synth", "--out", root.path, "--seed", "3", "--train", "4", "--val", "2", "--cal", "4", "--test", "2",
                "--size", "48x36",
            ])
            #expect(synth.status == 0, "\(synth.stderr)")
            for path in [
                "trainval/labels.json", "trainval/splits/t4/labels_train.json", "trainval/splits/t4/labels_val.json",
                "trainval/splits/t4/labels_cal.json", "test/labels.json",
            ] {
                #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path), "\(path)")
            }

            let trainval = root.appendingPathComponent("trainval")
            let split = try runKandinsky([
                "split", "--root", trainval.path, "--train", "3", "--val", "2", "--seed", "42",
            ])
            #expect(split.status == 0, "\(split.stderr)")
            #expect(
                split.stdout.contains("train: 3 images") && split.stdout.contains("val: 2 images")
                    && split.stdout.contains("cal: 5 images") && split.stdout.contains("no overlap"))

            let check = try runKandinsky(["check-data", "--root", trainval.path, "--split", "t3", "--dims", "64x48"])
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("3/3 images decode") && check.stdout.contains("splits are disjoint"))
            #expect(
                FileManager.default.fileExists(atPath: trainval.appendingPathComponent("splits/t3/check-data.png").path)
            )

            let out = root.appendingPathComponent("dump")
            let dump = try runKandinsky([
                "dump-dataset", "--root", trainval.path, "--manifest",
                trainval.appendingPathComponent("splits/t3/labels_val.json").path,
                "--dims", "64x48", "--category", "person,clutter", "--out", out.path,
            ])
            #expect(dump.status == 0, "\(dump.stderr)")
            let images = try NumpyFile.read(contentsOf: out.appendingPathComponent("images.npy"))
            let targets = try NumpyFile.read(contentsOf: out.appendingPathComponent("targets.npy"))
            #expect(images.elementType == .float32 && images.shape == [2, 3, 48, 64])
            #expect(targets.elementType == .uint8 && targets.shape == [2, 3, 48, 64])
            let ids = try JSONDecoder().decode(
                [Int].self, from: Data(contentsOf: out.appendingPathComponent("ids.json")))
            #expect(ids.count == 2)

            let trimmed = root.appendingPathComponent("trimmed")
            let trim = try runKandinsky([
                "dump-dataset", "--root", trainval.path, "--manifest",
                trainval.appendingPathComponent("splits/t3/labels_cal.json").path,
                "--dims", "32x24", "--cal-trim", "3", "--seed", "1", "--out", trimmed.path,
            ])
            #expect(trim.status == 0, "\(trim.stderr)")
            #expect(
                try NumpyFile.read(contentsOf: trimmed.appendingPathComponent("targets.npy")).shape == [3, 2, 24, 32])
        }
    }

    @Test("synth --scene anatomy writes grey frames of its own size that check-data reads with category organ")
    func anatomy() throws {
        try withScratchDirectory("cli-anatomy") { root in
            let synth = try runKandinsky([
                "synth", "--scene", "anatomy", "--out", root.path, "--seed", "3", "--train", "4", "--val", "2", "--cal",
                "4", "--test", "2",
            ])
            #expect(synth.status == 0, "\(synth.stderr)")
            let manifest = try manifestFields(root.appendingPathComponent("test/labels.json"))
            #expect(manifest.categories == ["organ"])
            #expect(
                manifest.images.count == 2
                    && manifest.images.allSatisfy {
                        $0.width == 128 && $0.height == 96 && $0.fileName.hasSuffix(".png")
                    })
            let check = try runKandinsky([
                "check-data", "--root", root.appendingPathComponent("trainval").path, "--split", "t4", "--category",
                "organ", "--dims", "128x96",
            ])
            #expect(check.status == 0, "\(check.stderr)")
            #expect(
                check.stdout.contains("4/4 images decode") && check.stdout.contains("organ ")
                    && check.stdout.contains("splits are disjoint"))
            let sized = try runKandinsky([
                "synth", "--scene", "anatomy", "--out", root.appendingPathComponent("sized").path, "--train", "1",
                "--val",
                "0", "--cal", "0", "--test", "1", "--size", "64x48",
            ])
            #expect(sized.status == 0, "\(sized.stderr)")
            #expect(
                try manifestFields(root.appendingPathComponent("sized/test/labels.json")).images.map(\.width) == [64])
            let unknown = try runKandinsky([
                "synth", "--scene", "ct", "--out", root.appendingPathComponent("unknown").path,
            ])
            #expect(
                unknown.status == 2 && unknown.errorLines.count == 1 && unknown.stderr.contains("ct"),
                "\(unknown.stderr)")
        }
    }

    @Test("bad input ends with one error line naming the file and a non-zero status")
    func badInput() throws {
        let missing = try runKandinsky(["split", "--root", "/nonexistent-kandinsky-root", "--train", "1", "--val", "1"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent-kandinsky-root/labels.json"))
        try withScratchDirectory("cli-bad") { root in
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try Data(
                #"{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories": [{"id": 1, "name": "person"}], "annotations": []}"#
                    .utf8
            )
            .write(to: root.appendingPathComponent("labels.json"))
            let tooMany = try runKandinsky(["split", "--root", root.path, "--train", "2", "--val", "0"])
            #expect(
                tooMany.status != 0 && tooMany.stderr.contains("labels.json")
                    && tooMany.stderr.contains("cannot draw 2 train"))
            let undecodable = try runKandinsky([
                "dump-dataset", "--root", root.path, "--out", root.appendingPathComponent("out").path,
            ])
            #expect(undecodable.status != 0 && undecodable.stderr.contains("a.jpg"))
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out/images.npy").path))
        }
    }
}

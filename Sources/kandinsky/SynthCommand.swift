import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyData

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract:
            "Write a built-in synthetic COCO-format dataset (person silhouettes among clutter, or anatomy-like grey slices with one organ).",
        discussion: """
            Layout: DIR/trainval/{data/, labels.json, splits/t<train>/labels_{train,val,cal}.json} and \
            DIR/test/{data/, labels.json}. The same seed gives byte-identical files. --scene anatomy \
            writes CT-slice-like grey PNG frames of one size whose category `organ` sits at a nearly \
            fixed position (check them with `kandinsky check-data --category organ --dims 128x96`).
            """
    )

    @Option(help: "Output directory.") var out: String
    @Option(help: "What the frames imitate: person (COCO-person) or anatomy (CT slices with one organ).") var scene:
        SyntheticDataset.Scene = .person
    @Option(help: "Seed of everything random.") var seed: UInt64 = 0
    @Option(help: "Training images.") var train = 300
    @Option(help: "Validation images.") var val = 50
    @Option(help: "Calibration images.") var cal = 1000
    @Option(help: "Test images.") var test = 200
    @Option(
        help:
            "Frame size as WxH: for person the area frames vary in aspect ratio around (default 160x120), for anatomy every frame's size (default 128x96)."
    )
    var size: String?

    func validate() throws {
        guard [train, val, cal, test].allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("image counts must be non-negative")
        }
        if let size {
            guard let dims = parseDims(size), dims.width >= 16, dims.height >= 16 else {
                throw ValidationError("--size must be \(dimsExpectation), both at least 16, got \"\(size)\"")
            }
        }
    }

    func run() throws {
        let dims = size.flatMap(parseDims)
        let dataset = SyntheticDataset(
            scene: scene, trainCount: train, validationCount: val, calibrationCount: cal, testCount: test,
            width: dims?.width, height: dims?.height, seed: seed)
        let root = URL(fileURLWithPath: out)
        let progress = ProgressReporter(title: "synth", total: train + val + cal + test)
        // All or nothing: a full disk or a kill leaves no half-written dataset under `root`.
        let manifests = try AtomicDirectory.write(to: root) { staging in
            try dataset.write(to: staging, progress: progress)
        }
        progress.finish()
        for (name, manifest) in [("trainval", manifests.trainval), ("test", manifests.test)] {
            let polygons = manifest.annotations.filter { if case .polygons = $0.segmentation { true } else { false } }
                .count
            print(
                "\(name): \(manifest.images.count) images, \(manifest.annotations.count) annotations (\(polygons) polygons, \(manifest.annotations.count - polygons) RLE) in \(root.appendingPathComponent(name).path)"
            )
        }
        print(
            "splits: \(root.appendingPathComponent("trainval/splits/t\(train)").path)/labels_{train,val,cal}.json (\(train) / \(val) / \(cal) images)"
        )
    }
}

extension SyntheticDataset.Scene: ExpressibleByArgument {}

/// Parses `WxH` (e.g. `320x240`): two positive integers with at most
/// `ImageLimits.maximumPixelCount` pixels (buffers of that size are allocated per image).
func parseDims(_ text: String) -> (width: Int, height: Int)? {
    let parts = text.lowercased().split(separator: "x")
    guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]),
        ImageLimits.checkedPixelCount(width: width, height: height) != nil
    else { return nil }
    return (width, height)
}

/// What ``parseDims(_:)`` accepts, for error messages.
let dimsExpectation = "WxH of positive integers with at most \(ImageLimits.maximumPixelCount) pixels"

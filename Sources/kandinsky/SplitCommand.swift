import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyData

struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split ROOT/labels.json into disjoint random train, validation and calibration manifests.",
        discussion:
            "Writes ROOT/splits/t<train>/labels_{train,val,cal}.json; calibration gets every image not drawn for train or validation."
    )

    @Option(help: "Dataset root holding labels.json and data/.") var root: String
    @Option(help: "Training images to draw.") var train: Int
    @Option(help: "Validation images to draw.") var val: Int
    @Option(help: "Seed of the draw.") var seed: UInt64 = 42

    func validate() throws {
        guard train >= 0, val >= 0 else { throw ValidationError("--train and --val must be non-negative") }
    }

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        let labels = rootURL.appendingPathComponent("labels.json")
        let manifest = try COCOManifest.read(contentsOf: labels)
        var generator = SeededGenerator(seed: seed)
        let split: COCOManifest.Split
        do {
            split = try manifest.split(trainCount: train, validationCount: val, using: &generator)
        } catch {
            throw DataError(.invalidRequest, file: labels.path, location: "images", problem: error.problem)
        }
        let directory = rootURL.appendingPathComponent("splits/t\(train)")
        let parts = [("train", split.train), ("val", split.validation), ("cal", split.calibration)]
        // All three or none: a full disk or a kill leaves no split with a missing part.
        try AtomicDirectory.write(to: directory) { staging in
            for (name, part) in parts {
                try part.write(to: staging.appendingPathComponent("labels_\(name).json"))
            }
        }
        let sets = parts.map { Set($0.1.images.map(\.id)) }
        let overlap =
            sets[0].intersection(sets[1]).count + sets[0].intersection(sets[2]).count
            + sets[1].intersection(sets[2]).count
        guard overlap == 0, sets.map(\.count).reduce(0, +) == manifest.images.count else {
            throw ValidationError("internal error: the split overlaps or loses images")
        }
        for (name, part) in parts {
            print(
                "\(name): \(part.images.count) images, \(part.annotations.count) annotations → \(directory.appendingPathComponent("labels_\(name).json").path)"
            )
        }
        print("no overlap: the \(manifest.images.count) images are split into disjoint sets")
    }
}

import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyData

struct DumpDatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-dataset",
        abstract: "Write exactly what a model sees (no augmentation): images.npy, targets.npy and ids.json.",
        discussion: """
            images.npy: float32 [N, 3, H, W] in [0, 1], resized and zero-padded; targets.npy: uint8 [N, 1 + C, H, W] \
            (channel 0 background, padding counted as background); ids.json: the N manifest image ids, in order.
            """
    )

    @Option(help: "Dataset root (images under ROOT/data/).") var root: String
    @Option(help: "Manifest (default ROOT/labels.json).") var manifest: String?
    @Option(help: "Sample size WxH.") var dims = "320x240"
    @Option(help: "Categories by name or id, comma-separated.") var category = "person"
    @Option(help: "Only the first N images of the manifest.") var limit: Int?
    @Option(help: "Use a seeded random subset of N images instead (the original's calTrim).") var calTrim: Int?
    @Option(help: "Seed of the --cal-trim subset.") var seed: UInt64 = 0
    @Flag(help: "Leave out images that fail to load (and list them) instead of stopping.") var skipBadSamples = false
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        guard parseDims(dims) != nil else {
            throw ValidationError("--dims must be \(dimsExpectation), got \"\(dims)\"")
        }
        if let limit, limit < 0 { throw ValidationError("--limit must be non-negative") }
        if let calTrim, calTrim < 0 { throw ValidationError("--cal-trim must be non-negative") }
    }

    func run() throws {
        let size = parseDims(dims)!
        let rootURL = URL(fileURLWithPath: root)
        var dataset = try COCODataset(
            root: rootURL, manifest: manifest.map { URL(fileURLWithPath: $0) },
            categories: CategorySelection(parsing: category), dims: ResizeAndPad(width: size.width, height: size.height)
        )
        if let warning = dataset.emptySegmentationWarning { printWarning(warning) }
        if let calTrim {
            var generator = SeededGenerator(seed: seed)
            dataset = dataset.randomSubset(count: calTrim, using: &generator)
        }
        let n = min(limit ?? dataset.count, dataset.count)
        let channels = dataset.channelCount
        let height = size.height
        let width = size.width
        let imageSize = 3 * height * width
        let targetSize = channels * height * width
        // Samples are written straight into the output arrays, in parallel; failures leave holes
        // that are closed up afterwards when skipping.
        var images = Tensor(shape: [n, 3, height, width], repeating: 0)
        var targets = ShapedArray<UInt8>(shape: [n, channels, height, width], repeating: 0)
        var failures = [DataError?](repeating: nil, count: n)
        var ids = [Int](repeating: 0, count: n)
        let progress = ProgressReporter(title: "dump-dataset", total: n)
        images.withUnsafeMutableBufferPointer { images in
            targets.withUnsafeMutableBufferPointer { targets in
                failures.withUnsafeMutableBufferPointer { failures in
                    ids.withUnsafeMutableBufferPointer { ids in
                        parallelFor(0..<n, chunkCount: min(n, 16 * availableCoreCount)) { range in
                            for index in range {
                                do throws(DataError) {
                                    let sample = try dataset.sample(index)
                                    _ = sample.image.withUnsafeBufferPointer {
                                        UnsafeMutableBufferPointer(
                                            rebasing: images[(index * imageSize)..<((index + 1) * imageSize)]
                                        ).update(fromContentsOf: $0)
                                    }
                                    _ = sample.target.withUnsafeBufferPointer {
                                        UnsafeMutableBufferPointer(
                                            rebasing: targets[(index * targetSize)..<((index + 1) * targetSize)]
                                        ).update(fromContentsOf: $0)
                                    }
                                    ids[index] = sample.imageID
                                } catch {
                                    failures[index] = error
                                }
                                progress.advance()
                            }
                        }
                    }
                }
            }
        }
        progress.finish()
        let skipped = failures.compactMap { $0 }
        if let first = skipped.first, !skipBadSamples { throw first }
        if !skipped.isEmpty {
            let kept = (0..<n).filter { failures[$0] == nil }
            images = images.gathering(kept, alongAxis: 0)
            targets = targets.gathering(kept, alongAxis: 0)
            ids = kept.map { ids[$0] }
        }
        let outURL = URL(fileURLWithPath: out)
        // All or nothing: the three files appear together, or (full disk, kill) none of them.
        try AtomicDirectory.write(to: outURL) { staging in
            try NumpyFile.write(.float32(images), to: staging.appendingPathComponent("images.npy"))
            try NumpyFile.write(.uint8(targets), to: staging.appendingPathComponent("targets.npy"))
            try AtomicFile.write(try JSONOutput.encode(ids, .compact), to: staging.appendingPathComponent("ids.json"))
        }
        print(
            "wrote \(ids.count) samples to \(outURL.path): images.npy \(images.shape), targets.npy \(targets.shape) (channels: background, \(dataset.categories.map(\.name).joined(separator: ", "))), ids.json"
        )
        if !skipped.isEmpty {
            print("skipped \(skipped.count) bad samples:")
            for error in skipped { print("  \(error)") }
        }
    }
}

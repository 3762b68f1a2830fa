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
    @Flag(help: "Leave out images that fail to load (and list them) instead of stopping.") var skipBadSamples = false
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        guard parseDims(dims) != nil else { throw ValidationError("--dims must be WxH, got \"\(dims)\"") }
        if let limit, limit < 0 { throw ValidationError("--limit must be non-negative") }
    }

    func run() throws {
        let size = parseDims(dims)!
        let rootURL = URL(fileURLWithPath: root)
        let dataset = try COCODataset(root: rootURL, manifest: manifest.map { URL(fileURLWithPath: $0) },
                                      categories: CategorySelection(parsing: category), dims: ResizeAndPad(width: size.width, height: size.height))
        let n = min(limit ?? dataset.count, dataset.count)
        let progress = ProgressReporter(title: "dump-dataset", total: n)
        var samples = [Result<SegmentationSample, DataError>?](repeating: nil, count: n)
        samples.withUnsafeMutableBufferPointer { samples in
            parallelFor(0..<n, chunkCount: min(n, 16 * availableCoreCount)) { range in
                for index in range {
                    samples[index] = Result { () throws(DataError) in try dataset.sample(index) }
                    progress.advance()
                }
            }
        }
        progress.finish()
        var kept: [SegmentationSample] = []
        var keptIndices: [Int] = []
        var skipped: [DataError] = []
        for (index, result) in samples.enumerated() {
            switch result! {
            case .success(let sample):
                kept.append(sample)
                keptIndices.append(index)
            case .failure(let error):
                guard skipBadSamples else { throw error }
                skipped.append(error)
            }
        }
        let batch = SegmentationBatch(stacking: kept, indices: keptIndices, dims: dataset.dims, channels: dataset.channelCount)
        let outURL = URL(fileURLWithPath: out)
        try NumpyFile.write(.float32(batch.images), to: outURL.appendingPathComponent("images.npy"))
        try NumpyFile.write(.uint8(batch.targets), to: outURL.appendingPathComponent("targets.npy"))
        let ids = try JSONEncoder().encode(kept.map(\.imageID))
        try AtomicFile.write(ids, to: outURL.appendingPathComponent("ids.json"))
        print("wrote \(kept.count) samples to \(outURL.path): images.npy \(batch.images.shape), targets.npy \(batch.targets.shape) (channels: background, \(dataset.categories.map(\.name).joined(separator: ", "))), ids.json")
        if !skipped.isEmpty {
            print("skipped \(skipped.count) bad samples:")
            for error in skipped { print("  \(error)") }
        }
    }
}

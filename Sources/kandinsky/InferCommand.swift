import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyModels

/// `kandinsky infer --model M --input I --output O [--batch B]`: runs a UNet over images and
/// writes the sigmoid probabilities, the `probs.npy` that `calibrate-scores` reads.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a UNet over images and write sigmoid probabilities.",
        discussion: """
            Reads images float32 [N, C, H, W] with values in [0, 1] from a .npy file (float16 and \
            float64 are converted), runs the network in inference mode in batches, and writes \
            float32 probabilities [N, out, H, W] to a .npy file. H and W must be divisible by \
            2^depth. The architecture comes from the model file's metadata (files written by \
            Kandinsky record it); for a file exported from PyTorch without metadata, give \
            --in-channels, --out-channels, --channels and --depth.
            """
    )

    @Option(help: "The model's weights (.safetensors, PyTorch state-dict names).") var model: String
    @Option(help: "Images [N, C, H, W] in [0, 1] (.npy).") var input: String
    @Option(help: "Where to write the probabilities [N, out, H, W] (.npy).") var output: String
    @Option(help: "Images per forward pass.") var batch: Int = 8
    @Option(help: "Input channels, for a model file without metadata.") var inChannels: Int?
    @Option(help: "Output channels (classes), for a model file without metadata.") var outChannels: Int?
    @Option(help: "Channels of the first block, for a model file without metadata.") var channels: Int?
    @Option(help: "Number of pooling levels, for a model file without metadata.") var depth: Int?

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        let given = [inChannels, outChannels, channels, depth]
        guard given.allSatisfy({ $0 == nil }) || given.allSatisfy({ $0 != nil }) else {
            throw ValidationError("give all of --in-channels, --out-channels, --channels and --depth, or none")
        }
        for (name, value) in [("--in-channels", inChannels), ("--out-channels", outChannels), ("--channels", channels), ("--depth", depth)] {
            if let value, value < 1 { throw ValidationError("\(name) must be positive, got \(value)") }
        }
        if let channels, channels % 2 != 0 { throw ValidationError("--channels must be even, got \(channels)") }
    }

    func run() throws {
        var architecture: UNet.Architecture?
        if let inChannels, let outChannels, let channels, let depth {
            architecture = UNet.Architecture(inputChannels: inChannels, outputChannels: outChannels, channels: channels, depth: depth)
        }
        var network = try UNet(contentsOf: URL(fileURLWithPath: model), architecture: architecture)
        let images = try Self.readImages(path: input)
        do throws(ModelError) {
            try network.validate(inputShape: images.shape)
        } catch {
            throw FileFormatError(file: input, field: "shape", problem: error.description)
        }
        let n = images.shape[0]
        let progress = ProgressReporter(title: "infer", total: n)
        var parts: [Tensor] = []
        var start = 0
        while start < n {
            let end = min(n, start + batch)
            parts.append(try network.probabilities(images[leading: start..<end], batchSize: batch))
            progress.advance(by: end - start)
            start = end
        }
        progress.finish()
        let probabilities = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, alongAxis: 0)
        try NumpyFile.write(.float32(probabilities), to: URL(fileURLWithPath: output))
    }

    /// The images as float32, rejecting integer arrays and values outside [0, 1].
    static func readImages(path: String) throws -> Tensor {
        let array = try NumpyFile.read(contentsOf: URL(fileURLWithPath: path))
        guard [ElementType.float32, .float16, .float64].contains(array.elementType) else {
            throw FileFormatError(file: path, field: "descr",
                                  problem: "expected float images in [0, 1], found \(array.elementType.rawValue) (divide 8-bit images by 255)")
        }
        let images = array.toTensor()
        guard images.rank == 4 else {
            throw FileFormatError(file: path, field: "shape", problem: "expected images [N, C, H, W], found \(images.shape)")
        }
        let outside = images.withUnsafeBufferPointer { values in values.first { !($0 >= 0 && $0 <= 1) } }
        if let outside {
            throw FileFormatError(file: path, field: "data", problem: "expected values in [0, 1], found \(outside)")
        }
        return images
    }
}

import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyExperiments
import KandinskyModels

/// `kandinsky infer --model M --input I --output O [--batch B]`: runs a UNet over images and
/// writes the sigmoid probabilities, the `probs.npy` that `calibrate-scores` reads.
///
/// The architecture is the one the model file records in its metadata (files written by
/// Kandinsky do), which architecture flags may repeat but not contradict; a file that records
/// none (a plain PyTorch `state_dict`, as `save_file` and `export-weights` write) needs all four
/// flags, and the error names the ones missing.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a UNet over images and write sigmoid probabilities.",
        discussion: """
            Reads images float32 [N, C, H, W] with values in [0, 1] from a .npy file (float16 and \
            float64 are converted), runs the network in inference mode in batches, and writes \
            float32 probabilities [N, out, H, W] to a .npy file. H and W must be divisible by \
            2^depth. The model is a weights file, a training checkpoint or a calibrated model (its \
            curves are ignored). Checkpoints and calibrated models written by Kandinsky record \
            their architecture in their metadata, so they need no architecture flag, and a flag \
            that is given must agree with the recorded value. A file without it (a PyTorch \
            state_dict written by safetensors.torch.save_file, or by kandinsky export-weights) \
            needs --in-channels, --out-channels, --channels and --depth.
            """
    )

    @Option(help: "The model's weights, checkpoint or calibrated model (.safetensors, PyTorch state-dict names).")
    var model: String
    @Option(help: "Images [N, C, H, W] in [0, 1] (.npy).") var input: String
    @Option(help: "Where to write the probabilities [N, out, H, W] (.npy).") var output: String
    @Option(help: "Images per forward pass.") var batch: Int = 8
    @Option(help: "Input channels; needed only for a model file that records no architecture.") var inChannels: Int?
    @Option(help: "Output channels (classes); needed only for a model file that records no architecture.")
    var outChannels: Int?
    @Option(help: "Channels of the first block; needed only for a model file that records no architecture.")
    var channels: Int?
    @Option(help: "Number of pooling levels; needed only for a model file that records no architecture.") var depth:
        Int?

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        for (name, _, value) in architectureFlags {
            if let value, value < 1 { throw ValidationError("\(name) must be positive, got \(value)") }
        }
        if let channels, channels % 2 != 0 { throw ValidationError("--channels must be even, got \(channels)") }
    }

    func run() throws {
        var file = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: model))
        // A calibrated model carries its curves and group maps beside the weights.
        file.tensors.removeAll { CalibrationRun.isCalibrationTensor($0.name) }
        let architecture = try architecture(recorded: try UNet.Architecture(metadata: file.metadata, file: model))
        var generator = SeededGenerator(seed: 0)
        var network = UNet(architecture, using: &generator)
        try network.load(file, path: model)
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

    /// The architecture flags with the metadata key each stands for.
    var architectureFlags: [(flag: String, key: String, value: Int?)] {
        [
            ("--in-channels", "in_channels", inChannels), ("--out-channels", "out_channels", outChannels),
            ("--channels", "channels", channels), ("--depth", "depth", depth),
        ]
    }

    /// The network to build: the architecture `recorded` in the model file, which every flag
    /// given must repeat, or for a file that records none the one all four flags give.
    ///
    /// - Throws: `ValidationError` naming the flags that disagree with the recorded values and
    ///   those values, or the flags a file without an architecture still needs.
    func architecture(recorded: UNet.Architecture?) throws -> UNet.Architecture {
        guard let recorded else {
            let missing = architectureFlags.filter { $0.value == nil }.map(\.flag)
            guard missing.isEmpty, let inChannels, let outChannels, let channels, let depth else {
                throw ValidationError(
                    "\(model) records no architecture in its metadata (a plain PyTorch state_dict, as save_file and "
                        + "export-weights write); give \(Self.list(missing))\(missing.count < 4 ? " too" : "")")
            }
            return UNet.Architecture(
                inputChannels: inChannels, outputChannels: outChannels, channels: channels, depth: depth)
        }
        let values = [recorded.inputChannels, recorded.outputChannels, recorded.channels, recorded.depth]
        let disagreeing = zip(architectureFlags, values).compactMap { flag, recorded in
            flag.value.flatMap { $0 == recorded ? nil : ("\(flag.flag) \($0)", "\(flag.key) \(recorded)") }
        }
        guard disagreeing.isEmpty else {
            throw ValidationError(
                "\(Self.list(disagreeing.map(\.0))) \(disagreeing.count == 1 ? "disagrees" : "disagree") with "
                    + "\(Self.list(disagreeing.map(\.1))) recorded in \(model); leave the architecture flags out for a file "
                    + "that records its architecture")
        }
        return recorded
    }

    /// The flags infer needs for a file without metadata, e.g. `--in-channels 3 --out-channels 2 --channels 16 --depth
    /// 4`.
    static func flags(for architecture: UNet.Architecture) -> String {
        "--in-channels \(architecture.inputChannels) --out-channels \(architecture.outputChannels) "
            + "--channels \(architecture.channels) --depth \(architecture.depth)"
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }

    /// The images as float32, rejecting integer arrays and values outside [0, 1].
    static func readImages(path: String) throws -> Tensor {
        let array = try NumpyFile.read(contentsOf: URL(fileURLWithPath: path))
        guard [ElementType.float32, .float16, .float64].contains(array.elementType) else {
            throw FileFormatError(
                file: path, field: "descr",
                problem:
                    "expected float images in [0, 1], found \(array.elementType.rawValue) (divide 8-bit images by 255)")
        }
        let images = array.toTensor()
        guard images.rank == 4 else {
            throw FileFormatError(
                file: path, field: "shape", problem: "expected images [N, C, H, W], found \(images.shape)")
        }
        let outside = images.withUnsafeBufferPointer { values in values.first { !($0 >= 0 && $0 <= 1) } }
        if let outside {
            throw FileFormatError(file: path, field: "data", problem: "expected values in [0, 1], found \(outside)")
        }
        return images
    }
}

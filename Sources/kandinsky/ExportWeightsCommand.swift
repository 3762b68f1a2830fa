import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyExperiments
import KandinskyModels

/// `kandinsky export-weights CKPT --out model.safetensors`: the network's weights alone, as
/// PyTorch's `state_dict()` of the original's UNet, from a training checkpoint or a calibrated
/// model.
struct ExportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-weights",
        abstract: "Write a checkpoint's network weights alone, as PyTorch's state_dict.",
        discussion: """
            Reads a training checkpoint (kandinsky train) or a calibrated model (kandinsky \
            calibrate) and writes only the network's weights: F32 tensors under the names of the \
            original UNet's state_dict(), without metadata, the file that \
            safetensors.torch.save_file(model.state_dict(), path) writes. In PyTorch, \
            model.load_state_dict(safetensors.torch.load_file(path), strict=True) loads it. Left \
            out: the optimizer state, the curves and group maps (nc_curves_class*, \
            nc_group_curves_class*, group_labels_class*, or an older file's nc_curves, \
            kandinsky_mask, group_labels) and every metadata entry, the architecture among them, so kandinsky \
            infer needs the architecture flags for the exported file; the command prints them. \
            The file is written atomically.
            """
    )

    @Argument(help: "A training checkpoint or calibrated model (.safetensors) that records its architecture.")
    var checkpoint: String
    @Option(help: "Where to write the weights (.safetensors).") var out: String

    func run() throws {
        let input = URL(fileURLWithPath: checkpoint)
        let output = URL(fileURLWithPath: out)
        guard
            input.standardizedFileURL.resolvingSymlinksInPath() != output.standardizedFileURL.resolvingSymlinksInPath()
        else {
            throw ValidationError("--out names the checkpoint itself; write the weights to another file")
        }
        var file = try SafetensorsFile.read(contentsOf: input)
        file.tensors.removeAll { CalibrationRun.isCalibrationTensor($0.name) }
        guard let architecture = try UNet.Architecture(metadata: file.metadata, file: checkpoint) else {
            throw FileFormatError(
                file: checkpoint, field: "metadata",
                problem:
                    "the file records no architecture, so it is no checkpoint or calibrated model of kandinsky (a file without metadata is plain weights already)"
            )
        }
        var generator = SeededGenerator(seed: 0)
        var model = UNet(architecture, using: &generator)
        // Loading checks every weight against the architecture and skips the optimizer state.
        try model.load(file, path: checkpoint)
        let weights = model.safetensorsFile(recordsArchitecture: false)
        try weights.write(to: output)
        print(
            "Exported \(weights.tensors.count) tensors of \(architecture) to \(out); "
                + "kandinsky infer reads it with \(InferCommand.flags(for: architecture))")
    }
}

import Foundation
import KandinskyCore
import KandinskyModels
import KandinskyTestSupport
import Testing

@testable import kandinsky

/// max |a − b| over elements of equal-shaped tensors (infinity when the shapes differ).
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct InferCommandTests {
    /// Runs `body` with a scratch directory holding `model.safetensors` (a seeded UNet(in 3,
    /// out 2, channels 4, depth 2), with or without its architecture in the metadata) and
    /// `images.npy` (5 × 3 × 8 × 12 images, uniform in 0...1), and with that model and those
    /// images; the directory is removed afterwards.
    static func withSetUp(
        metadata: Bool, _ body: (_ directory: URL, _ model: inout UNet, _ images: Tensor) throws -> Void
    ) throws {
        try withScratchDirectory("infer") { directory in
            var generator = SeededGenerator(seed: 7)
            var model = UNet(inputChannels: 3, outputChannels: 2, channels: 4, depth: 2, using: &generator)
            var file = model.safetensorsFile()
            if !metadata { file.metadata = [:] }
            try file.write(to: directory.appendingPathComponent("model.safetensors"))
            let images = Tensor.uniform([5, 3, 8, 12], using: &generator)
            try NumpyFile.write(.float32(images), to: directory.appendingPathComponent("images.npy"))
            try body(directory, &model, images)
        }
    }

    @Test func writesTheSigmoidProbabilitiesOfTheModel() throws {
        try Self.withSetUp(metadata: true) { directory, model, images in
            let command = try InferCommand.parse([
                "--model", directory.appendingPathComponent("model.safetensors").path,
                "--input", directory.appendingPathComponent("images.npy").path,
                "--output", directory.appendingPathComponent("probs.npy").path,
                "--batch", "2",
            ])
            try command.run()
            let written = try NumpyFile.read(contentsOf: directory.appendingPathComponent("probs.npy"))
            #expect(written.elementType == .float32)
            // Batches of 2 tile the convolutions differently from one batch of 5: equal up to rounding.
            #expect(maxDifference(written.toTensor(), model.forward(images, training: false).sigmoid()) < 1e-6)
        }
    }

    @Test func takesTheArchitectureFromFlagsForAFileWithoutMetadata() throws {
        try Self.withSetUp(metadata: false) { directory, model, images in
            let arguments = [
                "--model", directory.appendingPathComponent("model.safetensors").path,
                "--input", directory.appendingPathComponent("images.npy").path,
                "--output", directory.appendingPathComponent("probs.npy").path,
            ]
            let bare = try InferCommand.parse(arguments)
            #expect(throws: (any Error).self) { try bare.run() }
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("probs.npy").path))
            let command = try InferCommand.parse(
                arguments + ["--in-channels", "3", "--out-channels", "2", "--channels", "4", "--depth", "2"])
            try command.run()
            let written = try NumpyFile.read(contentsOf: directory.appendingPathComponent("probs.npy")).toTensor()
            #expect(maxDifference(written, model.forward(images, training: false).sigmoid()) < 1e-6)
        }
    }

    /// A file that records no architecture, given no flags or some: one line naming the flags
    /// still needed, exit status 2, and no output.
    @Test func aFileWithoutMetadataNeedsEveryArchitectureFlagAndSaysWhich() throws {
        try Self.withSetUp(metadata: false) { directory, _, _ in
            let model = directory.appendingPathComponent("model.safetensors").path
            let arguments = [
                "infer", "--model", model, "--input", directory.appendingPathComponent("images.npy").path,
                "--output", directory.appendingPathComponent("probs.npy").path,
            ]
            let bare = try runKandinsky(arguments)
            #expect(bare.status == 2)
            #expect(
                bare.errorLines == [
                    "Error: \(model) records no architecture in its metadata (a plain PyTorch state_dict, as save_file and "
                        + "export-weights write); give --in-channels, --out-channels, --channels and --depth"
                ])
            let partial = try runKandinsky(arguments + ["--channels", "4", "--depth", "2"])
            #expect(partial.status == 2)
            #expect(partial.errorLines.count == 1)
            #expect(
                partial.errorLines.first?.hasSuffix("; give --in-channels and --out-channels too") == true,
                "\(partial.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("probs.npy").path))
        }
    }

    /// A file that records its architecture needs no flag; flags that repeat it are accepted, and
    /// flags that contradict it are one line naming both.
    @Test func aRecordedArchitectureNeedsNoFlagsAndRefusesContradictingOnes() throws {
        try Self.withSetUp(metadata: true) { directory, model, images in
            let path = directory.appendingPathComponent("model.safetensors").path
            let arguments = [
                "--model", path, "--input", directory.appendingPathComponent("images.npy").path,
                "--output", directory.appendingPathComponent("probs.npy").path,
            ]
            try InferCommand.parse(arguments + ["--channels", "4", "--out-channels", "2"]).run()
            let written = try NumpyFile.read(contentsOf: directory.appendingPathComponent("probs.npy")).toTensor()
            #expect(maxDifference(written, model.forward(images, training: false).sigmoid()) < 1e-6)
            try FileManager.default.removeItem(at: directory.appendingPathComponent("probs.npy"))

            let contradicting = try runKandinsky(
                ["infer"] + arguments + ["--in-channels", "3", "--channels", "8", "--depth", "3"])
            #expect(contradicting.status == 2)
            #expect(
                contradicting.errorLines == [
                    "Error: --channels 8 and --depth 3 disagree with channels 4 and depth 2 recorded in \(path); "
                        + "leave the architecture flags out for a file that records its architecture"
                ])
            let one = try runKandinsky(["infer"] + arguments + ["--out-channels", "3"])
            #expect(
                one.errorLines == [
                    "Error: --out-channels 3 disagrees with out_channels 2 recorded in \(path); "
                        + "leave the architecture flags out for a file that records its architecture"
                ])
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("probs.npy").path))
        }
    }

    @Test func rejectsImagesTheNetworkCannotTake() throws {
        try Self.withSetUp(metadata: true) { directory, _, _ in
            let odd = directory.appendingPathComponent("odd.npy")
            let bright = directory.appendingPathComponent("bright.npy")
            try NumpyFile.write(.float32(Tensor(shape: [1, 3, 6, 8], repeating: 0.5)), to: odd)
            try NumpyFile.write(.float32(Tensor(shape: [1, 3, 8, 8], repeating: 255)), to: bright)
            for (input, message) in [(odd, "divisible by 2^depth = 4"), (bright, "expected values in [0, 1]")] {
                let command = try InferCommand.parse([
                    "--model", directory.appendingPathComponent("model.safetensors").path,
                    "--input", input.path, "--output", directory.appendingPathComponent("p.npy").path,
                ])
                do {
                    try command.run()
                    Issue.record("\(input.lastPathComponent) was accepted")
                } catch {
                    #expect(String(describing: error).contains(message), "\(error)")
                }
            }
        }
    }
}

import Foundation
import KandinskyCore

extension UNet.Architecture {
    /// The safetensors `__metadata__` keys that record an architecture, named as the PyTorch
    /// constructor's arguments.
    static let metadataKeys = ["in_channels", "out_channels", "channels", "depth", "dropout"]

    /// The architecture as safetensors metadata.
    var metadata: [String: String] {
        [
            "format": "pt", "kandinsky.model": "unet",
            "in_channels": "\(inputChannels)", "out_channels": "\(outputChannels)",
            "channels": "\(channels)", "depth": "\(depth)", "dropout": "\(dropout)",
        ]
    }

    /// The architecture recorded in a file's metadata, or nil when the file records none (for
    /// example a file written by `safetensors.torch.save_file` without metadata).
    package init?(metadata: [String: String], file: String) throws(ModelError) {
        guard Self.metadataKeys.contains(where: { metadata[$0] != nil }) else { return nil }
        func integer(_ key: String) throws(ModelError) -> Int {
            guard let text = metadata[key], let value = Int(text), value > 0 else {
                throw .invalidFile(
                    file, "metadata \(key)",
                    "expected a positive integer, found \(metadata[key].map { "\"\($0)\"" } ?? "nothing")")
            }
            return value
        }
        let dropoutText = metadata["dropout"] ?? "0"
        guard let dropout = Float(dropoutText), dropout >= 0, dropout < 1 else {
            throw .invalidFile(file, "metadata dropout", "expected a number in [0, 1), found \"\(dropoutText)\"")
        }
        let channels = try integer("channels")
        guard channels % 2 == 0 else {
            throw .invalidFile(file, "metadata channels", "expected an even number, found \(channels)")
        }
        self.init(
            inputChannels: try integer("in_channels"), outputChannels: try integer("out_channels"),
            channels: channels, depth: try integer("depth"), dropout: dropout)
    }
}

extension UNet {
    /// Tensor names that a training checkpoint adds beside the weights (the optimizer state);
    /// loading weights skips them.
    static let checkpointPrefix = "optimizer."

    /// The parameters as PyTorch's `state_dict()` would list them: name and value, in order.
    package mutating func stateDict() -> [(name: String, value: Tensor)] {
        var entries: [(name: String, value: Tensor)] = []
        visitParameters { name, parameter in entries.append((name, parameter.value)) }
        return entries
    }

    /// The weights, F32 under their `state_dict()` names, in a safetensors file that PyTorch's
    /// `safetensors.torch.load_file` reads into the same architecture's `load_state_dict`
    /// (`strict=True` holds: these are all of its entries, as the UNet has no buffers).
    ///
    /// With `recordsArchitecture` (the default) the metadata records the architecture (see
    /// ``Architecture/metadata``), so Kandinsky reads the file back without being told it.
    /// Without, the file has no metadata at all: byte for byte what
    /// `safetensors.torch.save_file(model.state_dict(), path)` writes for the same weights.
    package mutating func safetensorsFile(recordsArchitecture: Bool = true) -> SafetensorsFile {
        SafetensorsFile(
            tensors: stateDict().map { ($0.name, AnyShapedArray.float32($0.value)) },
            metadata: recordsArchitecture ? architecture.metadata : [:])
    }

    /// Replaces every parameter by the tensor of the same name in `file`. Float16 and Float64
    /// tensors are converted; tensors named `optimizer.…` (a checkpoint's optimizer state) are
    /// skipped.
    ///
    /// - Throws: ``ModelError`` listing every missing, unknown and wrongly shaped tensor, before
    ///   any parameter is changed.
    package mutating func load(_ file: SafetensorsFile, path: String = "weights") throws(ModelError) {
        var available: [String: AnyShapedArray] = [:]
        for (name, array) in file.tensors where !name.hasPrefix(Self.checkpointPrefix) { available[name] = array }
        var missing: [String] = []
        var wrongShapes: [String] = []
        var expected = Set<String>()
        visitParameters { name, parameter in
            expected.insert(name)
            guard let array = available[name] else {
                missing.append(name)
                return
            }
            let floating = [ElementType.float32, .float16, .float64].contains(array.elementType)
            if array.shape != parameter.value.shape || !floating {
                wrongShapes.append(
                    "\(name) (expected F32 \(parameter.value.shape), found \(array.elementType.rawValue) \(array.shape))"
                )
            }
        }
        let unknown = available.keys.filter { !expected.contains($0) }.sorted()
        guard missing.isEmpty, unknown.isEmpty, wrongShapes.isEmpty else {
            throw .stateDictMismatch(file: path, missing: missing, unknown: unknown, wrongShapes: wrongShapes)
        }
        visitParameters { name, parameter in
            parameter.value = available[name]!.toTensor()
        }
    }

    /// Reads a network from a safetensors file. The architecture comes from the file's metadata;
    /// `architecture` is used for a file without any (as exported from PyTorch), and must agree
    /// with the metadata when both are present.
    public init(contentsOf url: URL, architecture: Architecture? = nil) throws(ModelError) {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.read(contentsOf: url) } catch { throw .file(error) }
        let recorded = try Architecture(metadata: file.metadata, file: url.path)
        guard let chosen = recorded ?? architecture else {
            throw .invalidFile(
                url.path, "metadata",
                "the file records no architecture; give --in-channels, --out-channels, --channels and --depth")
        }
        if let recorded, let architecture,
            (recorded.inputChannels, recorded.outputChannels, recorded.channels, recorded.depth)
                != (architecture.inputChannels, architecture.outputChannels, architecture.channels, architecture.depth)
        {
            throw ModelError(
                "\(url.path): metadata: the file records \(recorded), which disagrees with the requested \(architecture)",
                kind: .architectureMismatch)
        }
        var generator = SeededGenerator(seed: 0)
        self.init(chosen, using: &generator)
        try load(file, path: url.path)
    }

    /// Writes the weights and the architecture to a safetensors file, atomically.
    public mutating func save(to url: URL) throws(ModelError) {
        do { try safetensorsFile().write(to: url) } catch { throw .file(error) }
    }
}

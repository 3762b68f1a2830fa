import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to dtype, shape and data offsets (and an optional `__metadata__` string map), then the
/// tensor bytes.
public struct SafetensorsFile: Sendable {
    /// The tensors, in the order they are written (sorted by name when read, as the format has
    /// no order of its own).
    public var tensors: [(name: String, array: AnyShapedArray)]
    /// The `__metadata__` string map.
    public var metadata: [String: String]

    public init(tensors: [(name: String, array: AnyShapedArray)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if present.
    public subscript(name: String) -> AnyShapedArray? {
        get { tensors.first { $0.name == name }?.array }
        set {
            if let index = tensors.firstIndex(where: { $0.name == name }) {
                if let newValue { tensors[index].array = newValue } else { tensors.remove(at: index) }
            } else if let newValue {
                tensors.append((name, newValue))
            }
        }
    }

    /// Reads a file; tensor data is memory-mapped rather than copied.
    public static func read(contentsOf url: URL) throws(FileFormatError) -> SafetensorsFile {
        throw FileFormatError(file: url.path, field: "file", problem: "not implemented yet")
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws(FileFormatError) {
        throw FileFormatError(file: url.path, field: "file", problem: "not implemented yet")
    }
}

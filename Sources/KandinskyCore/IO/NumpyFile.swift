import Foundation

/// NumPy's `.npy` format, versions 1.0 to 3.0, little-endian, C order.
public enum NumpyFile {
    /// Reads an array from a `.npy` file.
    public static func read(contentsOf url: URL) throws(FileFormatError) -> AnyShapedArray {
        throw FileFormatError(file: url.path, field: "file", problem: "not implemented yet")
    }

    /// Writes an array to a `.npy` file (version 1.0 when the header fits, else 2.0), atomically.
    public static func write(_ array: AnyShapedArray, to url: URL) throws(FileFormatError) {
        throw FileFormatError(file: url.path, field: "file", problem: "not implemented yet")
    }
}

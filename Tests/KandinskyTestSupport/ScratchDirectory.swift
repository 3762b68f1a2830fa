import Foundation

/// A new, empty directory `kandinsky-<label>-<UUID>` under the system's temporary directory, for
/// one test's files; the test removes it.
public func scratchDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kandinsky-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

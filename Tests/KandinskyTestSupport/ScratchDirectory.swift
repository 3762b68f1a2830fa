import Foundation

/// A new, empty directory `kandinsky-<label>-<UUID>` under the system's temporary directory, for
/// files that must outlive one scope (a fixture object that removes it when it ends); a test that
/// needs a directory for its own body uses ``withScratchDirectory(_:_:)`` instead.
public func scratchDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kandinsky-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `body` with a new, empty directory `kandinsky-<label>-<UUID>` under the system's temporary
/// directory and returns what `body` returns. The directory and everything in it are removed when
/// `body` returns or throws, so a test cannot leave it behind; `body` must not keep the URL.
///
/// Throws the error of creating the directory, or what `body` throws.
public func withScratchDirectory<Result>(_ label: String, _ body: (URL) throws -> Result) throws -> Result {
    let url = try scratchDirectory(label)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

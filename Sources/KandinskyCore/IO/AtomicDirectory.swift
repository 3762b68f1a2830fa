import Foundation

/// Writes a command's output of several files so that it appears complete or not at all.
///
/// ```swift
/// try AtomicDirectory.write(to: outputDirectory) { staging in
///     try NumpyFile.write(.float32(images), to: staging.appendingPathComponent("images.npy"))
///     try AtomicFile.write(ids, to: staging.appendingPathComponent("ids.json"))
/// }
/// ```
///
/// `body` writes into a fresh staging directory next to the target (`.NAME.<pid>.<random>.tmp`,
/// the naming of ``AtomicFile``, on the same file system so that renames are atomic). When it
/// returns, what it wrote is moved into the target:
/// - a target that does not exist yet is the staging directory renamed: one atomic step;
/// - into an existing target directory, each top-level entry that `body` wrote replaces the entry
///   of the same name as a whole (a file by `rename`, a directory by moving the old one aside
///   first); other entries of the target are left alone. Only these renames happen after the
///   data is written, so a full disk or an error in `body` leaves the target untouched.
///
/// If `body` throws, the staging directory is removed and the error is rethrown unchanged. A
/// process killed while writing leaves its staging directory behind; the next write to the same
/// target removes it (see `AtomicFile.removeStaleTemporaries(of:)`: only those of processes no
/// longer running, so a concurrent writer is never disturbed).
public enum AtomicDirectory {
    /// Runs `body` with a staging directory and moves what it wrote into `url` (see the type's
    /// documentation), returning `body`'s result.
    ///
    /// - Throws: `body`'s error unchanged, or ``FileFormatError`` naming `url` when the staging
    ///   directory cannot be made or its entries cannot be moved into place (for example when
    ///   `url` exists and is not a directory).
    public static func write<T>(to url: URL, _ body: (URL) throws -> T) throws -> T {
        let parent = url.deletingLastPathComponent()
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw FileFormatError(
                file: url.path, field: "directory",
                problem: "cannot create \(parent.path): \(error.localizedDescription)")
        }
        AtomicFile.removeStaleTemporaries(of: url)
        let staging = AtomicFile.temporaryURL(for: url)
        guard mkdir(staging.path, 0o777) == 0 else {
            throw FileFormatError(
                file: url.path, field: "directory",
                problem: "cannot create a directory in \(parent.path): \(String(cString: strerror(errno)))")
        }
        let result: T
        do {
            result = try body(staging)
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
        do {
            try commit(staging, to: url)
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
        return result
    }

    /// Moves the entries of `staging` into `url`, or renames `staging` to `url` when it is missing.
    private static func commit(_ staging: URL, to url: URL) throws(FileFormatError) {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            if rename(staging.path, url.path) == 0 { return }
            throw FileFormatError(
                file: url.path, field: "directory",
                problem: "cannot move the finished output into place: \(String(cString: strerror(errno)))")
        }
        guard isDirectory.boolValue else {
            throw FileFormatError(
                file: url.path, field: "directory",
                problem: "exists and is not a directory, expected a directory to write into")
        }
        let entries: [String]
        do { entries = try fileManager.contentsOfDirectory(atPath: staging.path) } catch {
            throw FileFormatError(
                file: url.path, field: "directory",
                problem: "cannot list the finished output: \(error.localizedDescription)")
        }
        // Old directories are moved into a second temporary next to the target, removed at the end
        // (or, if this process is killed first, by the next write).
        var replaced: URL?
        for name in entries.sorted() {
            let source = staging.appendingPathComponent(name)
            let destination = url.appendingPathComponent(name)
            var oldIsDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: destination.path, isDirectory: &oldIsDirectory), oldIsDirectory.boolValue
            {
                if replaced == nil {
                    let trash = AtomicFile.temporaryURL(for: url)
                    guard mkdir(trash.path, 0o777) == 0 else {
                        throw FileFormatError(
                            file: destination.path, field: "directory",
                            problem: "cannot make room for the new output: \(String(cString: strerror(errno)))")
                    }
                    replaced = trash
                }
                guard rename(destination.path, replaced!.appendingPathComponent(name).path) == 0 else {
                    throw FileFormatError(
                        file: destination.path, field: "directory",
                        problem: "cannot move the old output aside: \(String(cString: strerror(errno)))")
                }
            }
            guard rename(source.path, destination.path) == 0 else {
                throw FileFormatError(
                    file: destination.path, field: "file",
                    problem: "cannot move the finished output into place: \(String(cString: strerror(errno)))")
            }
        }
        try? fileManager.removeItem(at: staging)
        if let replaced { try? fileManager.removeItem(at: replaced) }
    }
}

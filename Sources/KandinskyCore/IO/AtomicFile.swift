import Foundation

/// Writes files so that a reader never sees a half-written one: the bytes go to a temporary file
/// in the same directory, which is then renamed over the destination (atomic on POSIX file
/// systems). The directory is created when missing.
///
/// Temporary files are named `.NAME.<pid>.<random>.tmp` next to the destination `NAME`. A
/// process killed while writing leaves its temporary behind; every write to `NAME` first removes
/// the temporaries of `NAME` whose process is no longer alive (see `removeStaleTemporaries(of:)`),
/// so they do not pile up, and never those of a live process, which may be writing right now.
public enum AtomicFile {
    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws(FileFormatError) {
        try write(to: url) { handle in try handle.write(contentsOf: data) }
    }

    /// Writes to `url` atomically through `body`, which receives a handle on the temporary file.
    /// If `body` throws, the temporary file is removed and the destination is left untouched.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws(FileFormatError) {
        let directory = url.deletingLastPathComponent()
        let temporary = temporaryURL(for: url)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            removeStaleTemporaries(of: url)
            guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
                throw FileFormatError(
                    file: url.path, field: "file",
                    problem: "cannot create a file in \(directory.path) (is it writable?)")
            }
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try body(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            if rename(temporary.path, url.path) != 0 {
                throw FileFormatError(
                    file: url.path, field: "file",
                    problem: "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as FileFormatError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw FileFormatError(file: url.path, field: "file", problem: "write failed: \(error.localizedDescription)")
        }
    }

    /// Gives the file at `source` a second name, `url`, atomically: a reader of `url` sees the
    /// file it named before or the whole of `source`, never a mix. A hard link is made under a
    /// temporary name next to `url` and renamed over it, so no byte is copied and both names
    /// share one copy on disk (deleting either name leaves the other whole); on a file system
    /// without hard links, `source` is copied into the temporary file instead. Both names must
    /// be in one directory's file system. A later ``write(_:to:)`` to either name renames a new
    /// file over that name alone, so the other keeps its contents.
    package static func link(_ source: URL, to url: URL) throws(FileFormatError) {
        let temporary = temporaryURL(for: url)
        removeStaleTemporaries(of: url)
        guard hardLink(source.path, temporary.path) == 0 else {
            let reason = String(cString: strerror(errno))
            guard let input = FileHandle(forReadingAtPath: source.path) else {
                throw FileFormatError(
                    file: url.path, field: "file", problem: "cannot link \(source.path) (\(reason)) nor open it to copy"
                )
            }
            defer { try? input.close() }
            try write(to: url) { output in
                while let chunk = try input.read(upToCount: 1 << 24), !chunk.isEmpty {
                    try output.write(contentsOf: chunk)
                }
            }
            return
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw FileFormatError(
                file: url.path, field: "file", problem: "cannot rename the link to \(source.path) into place: \(reason)"
            )
        }
    }

    /// A new temporary name next to `url`: `.NAME.<pid>.<random>.tmp`.
    package static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(
                ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp"
            )
    }

    /// Removes the temporaries of `url` (files or directories named `.NAME.<pid>.<random>.tmp`
    /// next to it) left by processes that are no longer running, and returns their URLs.
    ///
    /// Only temporaries whose `<pid>` names no live process are removed (`kill(pid, 0)` fails
    /// with `ESRCH`): a live process may be writing its temporary right now, and this process's
    /// own are left to the threads that made them. A temporary whose pid has been reused by an
    /// unrelated process stays until that process ends. Errors are ignored: cleaning up must
    /// never make a write fail.
    /// - Complexity: O(entries in the directory).
    @discardableResult
    package static func removeStaleTemporaries(of url: URL) -> [URL] {
        let directory = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent)."
        guard let stream = opendir(directory.path) else { return [] }
        var stale: [URL] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(prefix), name.hasSuffix(".tmp") else { continue }
            let fields = name.dropFirst(prefix.count).dropLast(".tmp".count).split(
                separator: ".", omittingEmptySubsequences: false)
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, UInt32(fields[1]) != nil else { continue }
            guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            stale.append(directory.appendingPathComponent(name))
        }
        closedir(stream)
        for url in stale { try? FileManager.default.removeItem(at: url) }
        return stale
    }
}

/// link(2): a second directory entry for an existing file.
private func hardLink(_ source: String, _ destination: String) -> Int32 {
    #if canImport(Glibc)
        Glibc.link(source, destination)
    #elseif canImport(Darwin)
        Darwin.link(source, destination)
    #else
        -1
    #endif
}

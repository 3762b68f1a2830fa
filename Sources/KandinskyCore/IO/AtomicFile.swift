import Foundation

/// Writes files so that a reader never sees a half-written one: the bytes go to a temporary file
/// in the same directory, which is then renamed over the destination (atomic on POSIX file
/// systems). The directory is created when missing.
public enum AtomicFile {
    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws(FileFormatError) {
        try write(to: url) { handle in try handle.write(contentsOf: data) }
    }

    /// Writes to `url` atomically through `body`, which receives a handle on the temporary file.
    /// If `body` throws, the temporary file is removed and the destination is left untouched.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws(FileFormatError) {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
                throw FileFormatError(file: url.path, field: "file", problem: "cannot create a file in \(directory.path) (is it writable?)")
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
                throw FileFormatError(file: url.path, field: "file", problem: "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as FileFormatError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw FileFormatError(file: url.path, field: "file", problem: "write failed: \(error.localizedDescription)")
        }
    }
}

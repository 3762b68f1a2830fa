import Foundation
import KandinskyCore

/// The folder a command writes into, laid out as the original's logs:
/// `<log_dir>/<task>/runs/<experiment>/<timestamp>/` (training) or
/// `<log_dir>/<task>/runs/<experiment>/` (calibration and evaluation).
///
/// A run marks its folder complete by writing the file `COMPLETE` (``completionMarker``) after
/// every other file, as its last step (`markComplete()`). A folder without it belongs to a run
/// that is still going, failed, or was killed or interrupted: its files are each whole (they are
/// written atomically) but not necessarily all there or all from the same run. Opening a reused
/// folder removes its marker first, so a rerun killed halfway is not mistaken for a finished one.
package struct RunDirectory: Sendable {
    /// The folder.
    package let url: URL

    /// Creates the run folder and saves the resolved configuration in it.
    ///
    /// A timestamped folder is always new: when another run already owns `<timestamp>` (two
    /// runs started within the same second), this one takes `<timestamp>_1`, `_2`, … The folder
    /// is claimed by an exclusive `mkdir`, so concurrent runs never share one. An untimestamped
    /// folder is reused.
    ///
    /// - Throws: ``ExperimentError`` when the folder cannot be created or written.
    package init(config: Config, task: String, timestamped: Bool, date: Date = Date()) throws {
        let logDirectory = URL(fileURLWithPath: try config.value(\.paths.logDirectory))
        let experiment = try config.value(\.experimentName) ?? "default"
        let parent = logDirectory.appendingPathComponent(task).appendingPathComponent("runs").appendingPathComponent(
            experiment)
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ExperimentError(
                "cannot create the log folder \(parent.path): \(Self.reason(error))", kind: .cannotWrite,
                underlying: error)
        }
        url = timestamped ? try Self.claimNewFolder(in: parent, named: Self.timestamp(date)) : parent
        let marker = url.appendingPathComponent(Self.completionMarker)
        if unlink(marker.path) != 0, errno != ENOENT {
            throw ExperimentError(
                "cannot remove \(marker.path) before reusing the folder: \(String(cString: strerror(errno)))",
                kind: .cannotWrite)
        }
        try write(Data(config.yaml.utf8), to: "config.yaml")
    }

    /// The name of the file that marks a run folder complete: `COMPLETE`, holding the time the
    /// run finished (ISO 8601).
    package static let completionMarker = "COMPLETE"

    /// Writes ``completionMarker``: call it once every other file of the run is written.
    package func markComplete(date: Date = Date()) throws {
        try write(Data((ISO8601DateFormatter().string(from: date) + "\n").utf8), to: Self.completionMarker)
    }

    /// Whether the run folder `url` is marked complete (see ``completionMarker``).
    package static func isComplete(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(completionMarker).path)
    }

    /// Creates `parent/name`, or the first of `parent/name_1`, `parent/name_2`, … that does not
    /// exist yet.
    private static func claimNewFolder(in parent: URL, named name: String) throws -> URL {
        for suffix in 0..<10_000 {
            let candidate = parent.appendingPathComponent(suffix == 0 ? name : "\(name)_\(suffix)")
            if mkdir(candidate.path, 0o777) == 0 { return candidate }
            guard errno == EEXIST else {
                throw ExperimentError(
                    "cannot create the log folder \(candidate.path): \(String(cString: strerror(errno)))",
                    kind: .cannotWrite)
            }
        }
        throw ExperimentError(
            "cannot create the log folder \(parent.appendingPathComponent(name).path): 10000 runs already use that second",
            kind: .cannotWrite)
    }

    /// A file in the run folder.
    package func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes a file in the run folder atomically.
    package func write(_ data: Data, to name: String) throws {
        try ExperimentError.writeAtomically(data, to: file(name))
    }

    /// `2026-11-26_14-03-59`, as the original's Hydra run folders.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd_HH-mm-ss"
        return formatter.string(from: date)
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}

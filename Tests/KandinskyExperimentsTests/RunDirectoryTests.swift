import Foundation
import KandinskyExperiments
import KandinskyTestSupport
import Testing

@Suite("Run folders")
struct RunDirectoryTests {
    /// The built-in training config with its study root at `root`.
    static func config(root: URL) throws -> Config {
        try ConfigComposer.builtIn.compose(
            primary: "train", overrides: ["paths.root_dir=\(root.path)"], environment: [:])
    }

    /// Two runs started within the same second get folders of their own (they used to share
    /// one, and the later run overwrote the earlier run's checkpoints).
    @Test func runsStartedInTheSameSecondGetTheirOwnFolders() throws {
        try withScratchDirectory("run-folders") { root in
            let date = Date(timeIntervalSince1970: 1_800_000_000)
            let first = try RunDirectory(
                config: try Self.config(root: root), task: "train", timestamped: true, date: date)
            let second = try RunDirectory(
                config: try Self.config(root: root), task: "train", timestamped: true, date: date)
            let third = try RunDirectory(
                config: try Self.config(root: root), task: "train", timestamped: true, date: date)
            #expect(first.url.deletingLastPathComponent() == second.url.deletingLastPathComponent())
            #expect(first.url.deletingLastPathComponent().lastPathComponent == "default")
            #expect(second.url.lastPathComponent == first.url.lastPathComponent + "_1")
            #expect(third.url.lastPathComponent == first.url.lastPathComponent + "_2")
            for run in [first, second, third] {
                #expect(FileManager.default.fileExists(atPath: run.file("config.yaml").path))
            }
        }
    }

    /// Calibration and evaluation folders are not timestamped: a rerun writes into the same one.
    @Test func untimestampedFoldersAreReused() throws {
        try withScratchDirectory("run-folders") { root in
            let first = try RunDirectory(config: try Self.config(root: root), task: "calibrate", timestamped: false)
            let second = try RunDirectory(config: try Self.config(root: root), task: "calibrate", timestamped: false)
            #expect(first.url.path == second.url.path)
            #expect(first.url.lastPathComponent == "default")
        }
    }

    /// A folder is complete once marked; reopening it for a rerun removes the mark first, so a
    /// rerun killed halfway is not taken for a finished one.
    @Test func theCompletionMarkerIsWrittenLastAndRemovedOnReuse() throws {
        try withScratchDirectory("run-folders") { root in
            let run = try RunDirectory(config: try Self.config(root: root), task: "calibrate", timestamped: false)
            #expect(!RunDirectory.isComplete(run.url))
            try run.markComplete(date: Date(timeIntervalSince1970: 0))
            #expect(RunDirectory.isComplete(run.url))
            #expect(try String(contentsOf: run.file("COMPLETE"), encoding: .utf8) == "1970-01-01T00:00:00Z\n")
            let rerun = try RunDirectory(config: try Self.config(root: root), task: "calibrate", timestamped: false)
            #expect(rerun.url.path == run.url.path)
            #expect(!RunDirectory.isComplete(rerun.url))
            #expect(FileManager.default.fileExists(atPath: rerun.file("config.yaml").path))
        }
    }

    /// A file where the log folder should be gives one line naming the folder.
    @Test func anUncreatableFolderIsOneClearError() throws {
        try withScratchDirectory("run-folders") { root in
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try Data("not a folder".utf8).write(to: root.appendingPathComponent("logs"))
            let error = #expect(throws: ExperimentError.self) {
                try RunDirectory(config: try Self.config(root: root), task: "train", timestamped: true)
            }
            #expect(
                error?.description.hasPrefix("cannot create the log folder \(root.path)/logs/train/runs/default")
                    == true)
            #expect(error?.kind == .cannotWrite && error?.underlying != nil)
        }
    }
}

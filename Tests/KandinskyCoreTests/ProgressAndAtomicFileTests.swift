import Foundation
import KandinskyTestSupport
import Testing

@testable import KandinskyCore

@Suite struct ProgressReporterTests {
    @Test func renderedLineShowsCountTotalBarAndETA() {
        let reporter = ProgressReporter(title: "calibrate", total: 10, style: .silent)
        reporter.advance(by: 4, message: "image 4")
        let line = reporter.renderedLine
        #expect(line.hasPrefix("calibrate ["))
        // 4/10 of a 24-character bar is 9.6 characters, drawn as 9.
        #expect(line.contains("[" + String(repeating: "#", count: 9) + String(repeating: ".", count: 15) + "]"))
        #expect(line.contains(" 4/10 "))
        #expect(line.contains(" it/s "))
        #expect(line.contains(" ETA "))
        #expect(line.hasSuffix(" image 4"))
    }

    @Test func finishedLineShowsElapsedTimeInsteadOfETA() {
        let reporter = ProgressReporter(title: "t", total: 3, style: .silent)
        reporter.advance(by: 3)
        reporter.finish(message: "done")
        let line = reporter.renderedLine
        #expect(line.contains(" 3/3 "))
        #expect(!line.contains("ETA"))
        #expect(line.contains(" in "))
        #expect(line.hasSuffix(" done"))
    }

    @Test func unknownTotalShowsOnlyTheCount() {
        let reporter = ProgressReporter(title: "scan", total: 0, style: .silent)
        reporter.advance(by: 7)
        let line = reporter.renderedLine
        #expect(line.hasPrefix("scan 7 "))
        #expect(!line.contains("7/"))
        #expect(!line.contains("["))
    }

    @Test func concurrentAdvancesAreAllCounted() {
        let reporter = ProgressReporter(title: "t", total: 1000, style: .silent)
        parallelFor(0..<1000, chunkCount: 8) { range in
            for _ in range { reporter.advance() }
        }
        #expect(reporter.renderedLine.contains(" 1000/1000 "))
    }

    @Test func formatsDurations() {
        #expect(ProgressReporter.formatDuration(0) == "0s")
        #expect(ProgressReporter.formatDuration(4.4) == "4s")
        #expect(ProgressReporter.formatDuration(59.6) == "1m00s")
        #expect(ProgressReporter.formatDuration(75) == "1m15s")
        #expect(ProgressReporter.formatDuration(3599) == "59m59s")
        #expect(ProgressReporter.formatDuration(4000) == "1h06m")
        #expect(ProgressReporter.formatDuration(90_000) == "25h00m")
    }

    @Test func isSilentUnderTheTestRunner() {
        #expect(ProgressReporter.Style.automatic == .silent)
    }
}

@Suite struct AtomicFileTests {
    @Test func failedWriteLeavesNoTemporaryFileAndKeepsTheOldContents() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("result.bin")
            try AtomicFile.write(Data("old".utf8), to: url)
            struct Interrupted: Error {}
            #expect(throws: FileFormatError.self) {
                try AtomicFile.write(to: url) { handle in
                    try handle.write(contentsOf: Data("half of the new".utf8))
                    throw Interrupted()
                }
            }
            #expect(try Data(contentsOf: url) == Data("old".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["result.bin"])
        }
    }

    @Test func writeReplacesTheFileAndCreatesMissingDirectories() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("a/b/result.bin")
            try AtomicFile.write(Data("first".utf8), to: url)
            try AtomicFile.write(Data("second".utf8), to: url)
            #expect(try Data(contentsOf: url) == Data("second".utf8))
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == [
                    "result.bin"
                ])
        }
    }

    @Test func linkGivesAFileASecondNameThatOutlivesTheFirst() throws {
        try withScratchDirectory("core") { directory in
            let first = directory.appendingPathComponent("epoch_0001.bin")
            let second = directory.appendingPathComponent("epoch_0002.bin")
            let last = directory.appendingPathComponent("last.bin")
            try AtomicFile.write(Data("one".utf8), to: first)
            try AtomicFile.write(Data("two".utf8), to: second)
            try AtomicFile.link(first, to: last)
            #expect(try Data(contentsOf: last) == Data("one".utf8))
            // Over an existing name, and on one copy on disk.
            try AtomicFile.link(second, to: last)
            #expect(try Data(contentsOf: last) == Data("two".utf8))
            let attributes = try FileManager.default.attributesOfItem(atPath: last.path)
            #expect(
                (attributes[.systemFileNumber] as? NSNumber)
                    == (try FileManager.default.attributesOfItem(atPath: second.path)[.systemFileNumber] as? NSNumber))
            // Deleting one name keeps the other whole; rewriting one leaves the other as it was.
            try FileManager.default.removeItem(at: second)
            #expect(try Data(contentsOf: last) == Data("two".utf8))
            try AtomicFile.link(first, to: last)
            try AtomicFile.write(Data("rewritten".utf8), to: first)
            #expect(try Data(contentsOf: last) == Data("one".utf8))
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
                    "epoch_0001.bin", "last.bin",
                ])
            expectFileFormatError(file: last, field: "file", problemMentions: "cannot link") {
                try AtomicFile.link(second, to: last)
            }
            #expect(try Data(contentsOf: last) == Data("one".utf8))
        }
    }

    @Test func failedNumpyWriteLeavesNothingBehind() throws {
        try withScratchDirectory("core") { directory in
            // The destination is an existing directory, so the final rename fails.
            let url = directory.appendingPathComponent("occupied.npy")
            try FileManager.default.createDirectory(
                at: url.appendingPathComponent("inside"), withIntermediateDirectories: true)
            expectFileFormatError(file: url, field: "file", problemMentions: "rename") {
                try NumpyFile.write(.float32(Tensor(shape: [2], scalars: [1, 2])), to: url)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["occupied.npy"])
        }
    }
}

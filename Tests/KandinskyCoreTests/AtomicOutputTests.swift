import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// The pid of a process that has ended (a short-lived child, waited for).
private func deadProcessID() throws -> Int32 {
    try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "exit 0"]).processIdentifier
}

private func names(in directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}

/// Runs `body` with a new scratch directory and `out` in it, the path the test writes to (it does
/// not exist yet); the directory is removed afterwards.
private func withTarget(_ body: (_ parent: URL, _ target: URL) throws -> Void) throws {
    try withScratchDirectory("atomic") { parent in
        try body(parent, parent.appendingPathComponent("out"))
    }
}

@Suite("Atomic outputs: stale temporaries, directories that appear whole")
struct AtomicOutputTests {
    @Test("a write removes the temporaries of its target left by dead processes, and only those")
    func staleTemporaries() throws {
        try withScratchDirectory("atomic") { directory in
            let dead = try deadProcessID()
            let alive = getppid()
            let own = getpid()
            let stale = ".x.safetensors.\(dead).123.tmp"
            let kept = [
                ".x.safetensors.\(alive).456.tmp", ".x.safetensors.\(own).789.tmp", ".y.safetensors.\(dead).1.tmp",
                ".x.safetensors.\(dead).notanumber.tmp",
            ]
            for name in [stale] + kept { try Data("partial".utf8).write(to: directory.appendingPathComponent(name)) }
            // A killed AtomicDirectory leaves a directory with the same naming.
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(".x.safetensors.\(dead).5.tmp/inner"),
                withIntermediateDirectories: true)

            try AtomicFile.write(Data("whole".utf8), to: directory.appendingPathComponent("x.safetensors"))
            #expect(try names(in: directory) == (kept + ["x.safetensors"]).sorted())
            #expect(try Data(contentsOf: directory.appendingPathComponent("x.safetensors")) == Data("whole".utf8))
        }
    }

    @Test("a directory written into a new target appears with everything in it")
    func newTarget() throws {
        try withTarget { parent, target in
            let count = try AtomicDirectory.write(to: target) { staging in
                #expect(staging.deletingLastPathComponent().path == parent.path)
                #expect(!FileManager.default.fileExists(atPath: target.path))
                try AtomicFile.write(Data("a".utf8), to: staging.appendingPathComponent("a.npy"))
                try AtomicFile.write(Data("b".utf8), to: staging.appendingPathComponent("sub/b.json"))
                return 2
            }
            #expect(count == 2)
            #expect(try names(in: parent) == ["out"])
            #expect(try names(in: target) == ["a.npy", "sub"])
            #expect(try Data(contentsOf: target.appendingPathComponent("sub/b.json")) == Data("b".utf8))
        }
    }

    @Test("into an existing directory, written entries replace theirs as wholes and other entries stay")
    func existingTarget() throws {
        try withTarget { parent, target in
            try FileManager.default.createDirectory(
                at: target.appendingPathComponent("part/data"),
                withIntermediateDirectories: true)
            try Data("old".utf8).write(to: target.appendingPathComponent("part/data/old.jpg"))
            try Data("old".utf8).write(to: target.appendingPathComponent("a.npy"))
            try Data("mine".utf8).write(to: target.appendingPathComponent("notes.txt"))
            try AtomicDirectory.write(to: target) { staging in
                try AtomicFile.write(Data("new".utf8), to: staging.appendingPathComponent("a.npy"))
                try AtomicFile.write(Data("new".utf8), to: staging.appendingPathComponent("part/data/new.jpg"))
            }
            #expect(try names(in: target) == ["a.npy", "notes.txt", "part"])
            #expect(try names(in: target.appendingPathComponent("part/data")) == ["new.jpg"])
            #expect(try Data(contentsOf: target.appendingPathComponent("a.npy")) == Data("new".utf8))
            #expect(try Data(contentsOf: target.appendingPathComponent("notes.txt")) == Data("mine".utf8))
            #expect(try names(in: parent) == ["out"])
        }
    }

    @Test("when the body fails (a full disk, bad data) the target is untouched and nothing is left behind")
    func failingBody() throws {
        struct DiskFull: Error, Equatable {}
        try withTarget { parent, target in
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try Data("old".utf8).write(to: target.appendingPathComponent("a.npy"))
            #expect(throws: DiskFull()) {
                try AtomicDirectory.write(to: target) { staging in
                    try AtomicFile.write(Data("new".utf8), to: staging.appendingPathComponent("a.npy"))
                    try AtomicFile.write(Data("new".utf8), to: staging.appendingPathComponent("b.npy"))
                    throw DiskFull()
                }
            }
            #expect(try names(in: parent) == ["out"])
            #expect(try names(in: target) == ["a.npy"])
            #expect(try Data(contentsOf: target.appendingPathComponent("a.npy")) == Data("old".utf8))
        }
    }

    @Test("a staging directory left by a killed run is removed by the next write to the same target")
    func staleStagingDirectory() throws {
        try withTarget { parent, target in
            let dead = try deadProcessID()
            let leftover = parent.appendingPathComponent(".out.\(dead).42.tmp")
            try FileManager.default.createDirectory(
                at: leftover.appendingPathComponent("trainval/data"), withIntermediateDirectories: true)
            try Data("half".utf8).write(to: leftover.appendingPathComponent("trainval/data/1.jpg"))
            let live = parent.appendingPathComponent(".out.\(getppid()).43.tmp")
            try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
            try AtomicDirectory.write(to: target) { staging in
                try AtomicFile.write(Data("x".utf8), to: staging.appendingPathComponent("x"))
            }
            #expect(try names(in: parent) == [live.lastPathComponent, "out"])
        }
    }

    @Test("a target that is a file is one clear error")
    func targetIsAFile() throws {
        try withTarget { parent, target in
            try Data("file".utf8).write(to: target)
            let error = #expect(throws: FileFormatError.self) {
                try AtomicDirectory.write(to: target) { staging in
                    try AtomicFile.write(Data("x".utf8), to: staging.appendingPathComponent("x"))
                }
            }
            #expect(
                error?.file == target.path
                    && error?.problem == "exists and is not a directory, expected a directory to write into")
            #expect(try names(in: parent) == ["out"])
        }
    }
}

@Suite("JSON syntax errors name the byte, line and column")
struct JSONSyntaxTests {
    func syntaxError(_ text: String, maximumDepth: Int = 512) -> (error: JSONSyntaxError, line: Int, column: Int)? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buffer in
            do throws(JSONSyntaxError) {
                try JSONSyntax.check(buffer, maximumDepth: maximumDepth)
                return nil
            } catch {
                let (line, column) = error.lineAndColumn(in: buffer)
                return (error, line, column)
            }
        }
    }

    @Test func validDocumentsPass() {
        #expect(syntaxError(#" {"a": [1, -2.5e3, "x\n\u00e9", true, false, null, {}, []]} "#) == nil)
    }

    @Test func errorsSayWhatWasFoundWhere() {
        let missingComma = syntaxError("{\"a\": [1\n  2]}")
        #expect(missingComma?.error.reason == "expected ',' or ']' in an array, found '2'")
        #expect(missingComma?.error.offset == 11 && missingComma?.line == 2 && missingComma?.column == 3)
        let object = syntaxError(#"{"a": 1 "b": 2}"#)
        #expect(object?.error.reason == "expected ',' or '}' in an object, found '\"'")
        let literal = syntaxError("[nul]")
        #expect(literal?.error.reason == "invalid literal, expected 'null', found ']'")
        let trailing = syntaxError("[1] x")
        #expect(trailing?.error.reason == "unexpected 'x' after the JSON value" && trailing?.error.offset == 4)
        let deep = syntaxError(String(repeating: "[", count: 10) + String(repeating: "]", count: 10), maximumDepth: 5)
        #expect(deep?.error.reason == "nesting deeper than 5 levels")
    }

    @Test func pythonsNonStandardNumbersAreNamed() {
        for word in ["NaN", "Infinity", "-Infinity"] {
            let found = syntaxError(#"{"loss": \#(word)}"#)
            #expect(
                found?.error.reason
                    == "\(word) is not valid JSON; write it with allow_nan=False or replace it (e.g. with null)")
            #expect(found?.error.offset == 9)
        }
    }
}

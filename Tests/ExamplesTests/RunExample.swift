import Foundation
import Testing

/// The result of one run of an example executable.
struct ExampleRun: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Standard output split into lines.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// The whitespace-separated fields of the first output line starting with `prefix`.
    func row(_ prefix: String) -> [String]? {
        lines.first { $0.hasPrefix(prefix) }.map { $0.split(separator: " ").map(String.init) }
    }
}

/// The built example executable `name`: it sits in the products directory, next to the test bundle.
func exampleExecutable(_ name: String) -> URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory.deleteLastPathComponent()
    }
    preconditionFailure("no \(name) executable near \(CommandLine.arguments[0]); build it with `swift build --build-tests`")
}

/// Runs example `name` with `arguments` and waits for it. Output goes through temporary files,
/// so a large output cannot fill a pipe and stall the example.
func runExample(_ name: String, _ arguments: [String]) throws -> ExampleRun {
    let scratch = try temporaryDirectory("example-output")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = exampleExecutable(name)
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    var environment = ProcessInfo.processInfo.environment
    environment["KANDINSKY_PROGRESS"] = "off"
    process.environment = environment
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return ExampleRun(status: process.terminationStatus,
                      stdout: try String(contentsOf: outURL, encoding: .utf8),
                      stderr: try String(contentsOf: errURL, encoding: .utf8))
}

/// A new empty directory under the system's temporary directory.
func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kandinsky-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The number in field `index` of a table row, recorded as a failure at the caller when absent.
func number(_ row: [String]?, _ index: Int, sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    guard let row, index < row.count, let value = Double(row[index]) else {
        Issue.record("no number in field \(index) of \(row ?? [])", sourceLocation: sourceLocation)
        return .nan
    }
    return value
}

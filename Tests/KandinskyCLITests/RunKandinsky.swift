import Foundation
import Testing

/// The result of one run of the `kandinsky` tool.
struct KandinskyRun: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Standard output split into lines, without the final empty line.
    var outputLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    /// Standard error split into lines, without the final empty line.
    var errorLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
}

/// The built `kandinsky` executable: it sits in the products directory, next to the test bundle.
let kandinskyExecutable: URL = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("kandinsky")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory.deleteLastPathComponent()
    }
    preconditionFailure("no kandinsky executable near \(CommandLine.arguments[0]); build it with `swift build --build-tests`")
}()

/// The fixtures of the KandinskyCoreTests target (numpy- and safetensors-written files).
let coreFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("KandinskyCoreTests/Fixtures")

/// Runs `kandinsky` with `arguments` (progress output off) in `directory` and waits for it.
/// Output goes through temporary files, so large outputs cannot fill a pipe and stall the tool.
func runKandinsky(_ arguments: [String], in directory: URL? = nil) throws -> KandinskyRun {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kandinsky-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = kandinskyExecutable
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    if let directory { process.currentDirectoryURL = directory }
    var environment = ProcessInfo.processInfo.environment
    environment["KANDINSKY_PROGRESS"] = "off"
    process.environment = environment
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return KandinskyRun(status: process.terminationStatus,
                        stdout: try String(contentsOf: outURL, encoding: .utf8),
                        stderr: try String(contentsOf: errURL, encoding: .utf8))
}

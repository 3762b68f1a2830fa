import Foundation

/// The result of one run of an executable: one built by this package, or a system tool.
public struct ProcessRun: Sendable {
    /// The process's id (it has ended: the system may give it to another process).
    public let processIdentifier: Int32
    public let status: Int32
    public let stdout: String
    public let stderr: String

    /// Standard output split into lines, without the final empty line.
    public var outputLines: [String] {
        stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
    /// Standard error split into lines, without the final empty line.
    public var errorLines: [String] {
        stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

/// The built executable `name`: it sits in the products directory, next to the test bundle.
public func builtExecutable(_ name: String) -> URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory.deleteLastPathComponent()
    }
    preconditionFailure(
        "no \(name) executable near \(CommandLine.arguments[0]); build it with `swift build --build-tests`")
}

/// Runs `executable` with `arguments` (progress output off) in `directory` and waits for it;
/// `environment` adds to (or, with nil values, removes from) the test's own environment.
public func runProcess(
    _ executable: URL, _ arguments: [String], in directory: URL? = nil,
    environment: [String: String?] = [:]
) throws -> ProcessRun {
    try LaunchedProcess(executable, arguments, in: directory, environment: environment).wait()
}

/// A built executable started in the background (progress output off), for tests that signal
/// it while it runs. Output goes through temporary files, so a large output cannot fill a pipe
/// and stall the run.
public final class LaunchedProcess {
    private let process = Process()
    private let scratch: URL
    private let out: FileHandle, err: FileHandle

    /// Starts `executable` with `arguments` in `directory`; `environment` adds to (or, with nil
    /// values, removes from) the test's own environment.
    public init(
        _ executable: URL, _ arguments: [String], in directory: URL? = nil, environment extra: [String: String?] = [:]
    ) throws {
        scratch = try scratchDirectory("run")
        for name in ["stdout", "stderr"] {
            _ = FileManager.default.createFile(atPath: scratch.appendingPathComponent(name).path, contents: nil)
        }
        out = try FileHandle(forWritingTo: scratch.appendingPathComponent("stdout"))
        err = try FileHandle(forWritingTo: scratch.appendingPathComponent("stderr"))
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        environment["KANDINSKY_PROGRESS"] = "off"
        for (name, value) in extra { environment[name] = value }
        process.environment = environment
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Whether the process has not ended yet.
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` (SIGINT, SIGKILL, …) to the process.
    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits until `condition` holds (checked every 10 ms) or the process ends; whether it held.
    public func wait(until condition: () -> Bool, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(10_000)
        }
        return false
    }

    /// Waits for the process to end; its status and output.
    public func wait() throws -> ProcessRun {
        process.waitUntilExit()
        try out.close()
        try err.close()
        return ProcessRun(
            processIdentifier: process.processIdentifier, status: process.terminationStatus,
            stdout: try String(contentsOf: scratch.appendingPathComponent("stdout"), encoding: .utf8),
            stderr: try String(contentsOf: scratch.appendingPathComponent("stderr"), encoding: .utf8))
    }
}

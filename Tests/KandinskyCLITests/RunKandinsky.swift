import Foundation
import KandinskyTestSupport
import Testing

/// The result of one run of the `kandinsky` tool.
typealias KandinskyRun = ProcessRun

/// The built `kandinsky` executable.
let kandinskyExecutable = builtExecutable("kandinsky")

/// The fixtures of the KandinskyCoreTests target (numpy- and safetensors-written files).
let coreFixtures = Fixtures(ofTestTarget: "KandinskyCoreTests").directory

/// Runs `kandinsky` with `arguments` (progress output off) in `directory` and waits for it;
/// `environment` adds variables to the test's own (nil values remove them).
func runKandinsky(_ arguments: [String], in directory: URL? = nil, environment: [String: String?] = [:]) throws
    -> KandinskyRun
{
    try runProcess(kandinskyExecutable, arguments, in: directory, environment: environment)
}

/// Expects the standard error of `run` to hold exactly one error line (blank lines and the usage hint aside) and to
/// mention each of `mentions`.
func expectOneErrorLine(
    _ run: KandinskyRun, mentioning mentions: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    let lines = run.stderr.split(separator: "\n").filter {
        !$0.isEmpty && !$0.hasPrefix("Usage") && !$0.hasPrefix("  See")
    }
    #expect(lines.count == 1, "\(run.stderr)", sourceLocation: sourceLocation)
    for text in mentions {
        #expect(run.stderr.contains(text), "\(run.stderr) should mention \(text)", sourceLocation: sourceLocation)
    }
}

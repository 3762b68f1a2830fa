import Foundation
import KandinskyTestSupport
import Testing

/// The result of one run of an example executable.
typealias ExampleRun = ProcessRun

extension ProcessRun {
    /// Standard output split into non-empty lines.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// The whitespace-separated fields of the first output line starting with `prefix`.
    func row(_ prefix: String) -> [String]? {
        lines.first { $0.hasPrefix(prefix) }.map { $0.split(separator: " ").map(String.init) }
    }
}

/// Runs example `name` with `arguments` and waits for it.
func runExample(_ name: String, _ arguments: [String]) throws -> ExampleRun {
    try runProcess(builtExecutable(name), arguments)
}

/// The number in field `index` of a table row, recorded as a failure at the caller when absent.
func number(_ row: [String]?, _ index: Int, sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    guard let row, index < row.count, let value = Double(row[index]) else {
        Issue.record("no number in field \(index) of \(row ?? [])", sourceLocation: sourceLocation)
        return .nan
    }
    return value
}

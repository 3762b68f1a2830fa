import Foundation

/// The `KANDINSKY_THREADS` environment variable: a cap on the threads Kandinsky works on.
///
/// **Meaning.** `KANDINSKY_THREADS=n`, n a whole number ≥ 1, caps both the library's own workers
/// (``availableCoreCount`` and everything built on it: ``parallelFor(_:chunkCount:_:)``,
/// ``parallelForEach(_:workers:_:)``) and OpenBLAS's threads (``setLinearAlgebraThreadCount(_:)``
/// never sets more) at min(n, active processor count). A value above the processor count
/// therefore means all processors, like an unset variable; so does an empty value.
///
/// **Invalid values** (0, negative, not a whole number, too large for an `Int`, surrounding
/// spaces) are never a trap. The `kandinsky` tool refuses to start with one error line naming the
/// variable, the value and the allowed range (``problem(with:)``), and exits with status 2 (a usage error). A
/// program that links the library and reads ``availableCoreCount`` ignores the value instead and
/// writes one warning line to standard error, once per process, then uses every processor.
///
/// The value is read once per process, on first use; changing the environment later has no
/// effect.
package enum ThreadLimit {
    /// The environment variable's name.
    package static let environmentVariable = "KANDINSKY_THREADS"

    /// What a value of the variable says.
    package enum Reading: Equatable, Sendable {
        /// Unset or empty: use every processor.
        case unset
        /// A cap n ≥ 1.
        case limit(Int)
        /// Not a whole number ≥ 1; the text as given.
        case invalid(String)
    }

    /// Reads a value of the variable: nil or "" → unset; decimal digits with an optional leading
    /// `+` that make an `Int` ≥ 1 → that limit; anything else → invalid.
    package static func read(_ value: String?) -> Reading {
        guard let value, !value.isEmpty else { return .unset }
        guard let n = Int(value), n >= 1 else { return .invalid(value) }
        return .limit(n)
    }

    /// The worker count for a reading on a machine with `processors` active processors (≥ 1):
    /// min(n, processors) for a limit, `processors` otherwise.
    package static func workers(for reading: Reading, processors: Int) -> Int {
        let processors = max(processors, 1)
        if case .limit(let n) = reading { return min(n, processors) }
        return processors
    }

    /// The one-line explanation of an invalid value, e.g.
    /// `KANDINSKY_THREADS=0 is not allowed: expected a whole number from 1 up (values above the 2 processors mean all
    /// of them)`.
    package static func problem(with value: String, processors: Int = ProcessInfo.processInfo.activeProcessorCount)
        -> String
    {
        "\(environmentVariable)=\(value) is not allowed: expected a whole number from 1 up "
            + "(values above the \(max(processors, 1)) processors mean all of them)"
    }

    /// The reading of this process's environment.
    package static var environmentReading: Reading {
        read(ProcessInfo.processInfo.environment[environmentVariable])
    }

    /// The process's worker count, computed once: invalid values are ignored with one warning on
    /// standard error.
    package static let processWorkers: Int = {
        let processors = ProcessInfo.processInfo.activeProcessorCount
        let reading = environmentReading
        if case .invalid(let value) = reading {
            FileHandle.standardError.write(
                Data(
                    "warning: ignoring \(problem(with: value, processors: processors)); using \(max(processors, 1))\n"
                        .utf8))
        }
        return workers(for: reading, processors: processors)
    }()
}

import Foundation
import KandinskyCore

/// What a parser made of one fuzz input. A trap cannot be an outcome: it ends the process, and
/// the crash report of ``FuzzHarness`` names the input instead.
public enum FuzzOutcome: String, Sendable {
    /// The input was accepted.
    case success
    /// The input was refused with the parser's typed error.
    case typedError = "typed error"
}

/// Counts of outcomes of a fuzz run.
public struct FuzzCounts: Sendable, Equatable {
    /// Inputs accepted.
    public var success = 0
    /// Inputs refused with a typed error.
    public var typedError = 0
    /// All inputs run.
    public var total: Int { success + typedError }

    /// Adds one outcome.
    public mutating func record(_ outcome: FuzzOutcome) {
        switch outcome {
        case .success: success += 1
        case .typedError: typedError += 1
        }
    }
}

/// Runs seeded mutation campaigns against one parser and makes a trap attributable.
///
/// Input `i` of a campaign with seed `s` is a seed file mutated with the generator
/// `SeededGenerator.stream(i, of: s)`, so any single input can be rebuilt from `(s, i)` alone.
/// Before each input, its description (`parser seed=s iteration=i mutations`) goes into a slot
/// that a signal handler (SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE: how Swift traps and
/// failed allocations end a process) prints to standard error, together with the slots of the
/// other campaigns running at the same time; when `KANDINSKY_FUZZ_CRASH_DIR` is set, the handler
/// also writes the input there as `<parser>-<seed>-<iteration>.bin`, ready to become a regression
/// fixture. The handler uses only `write(2)`/`open(2)` on buffers prepared beforehand.
///
/// Environment (read by ``Settings/fromEnvironment``):
/// - `KANDINSKY_FUZZ_ITERATIONS`: inputs per parser (default 10,000, what CI runs);
/// - `KANDINSKY_FUZZ_SEED`: the campaign seed (default 0);
/// - `KANDINSKY_FUZZ_CRASH_DIR`: where a crashing input is written (default: not written).
public final class FuzzHarness: @unchecked Sendable {
    /// A campaign's size and seed.
    public struct Settings: Sendable {
        /// Inputs to run.
        public var iterations: Int
        /// The campaign seed.
        public var seed: UInt64

        /// `iterations` inputs of the campaign `seed`.
        public init(iterations: Int, seed: UInt64) {
            self.iterations = iterations
            self.seed = seed
        }

        /// Settings from the environment (see ``FuzzHarness``).
        public static var fromEnvironment: Settings {
            let environment = ProcessInfo.processInfo.environment
            return Settings(
                iterations: environment["KANDINSKY_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 10_000,
                seed: environment["KANDINSKY_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0)
        }
    }

    private let slot: Int
    private let parser: String

    /// A harness for `parser` (a short name used in reports and crash files).
    public init(parser: String) {
        self.parser = parser
        slot = CrashReporter.shared.claimSlot()
    }

    deinit { CrashReporter.shared.release(slot) }

    /// Runs `body` on `input`, described by `description`, with the crash report armed.
    public func run(_ input: [UInt8], description: String, crashFileName: String, _ body: ([UInt8]) -> FuzzOutcome)
        -> FuzzOutcome
    {
        CrashReporter.shared.arm(slot, line: "fuzz: crashed in \(description)\n", input: input, fileName: crashFileName)
        defer { CrashReporter.shared.disarm(slot) }
        return body(input)
    }

    /// Runs `settings.iterations` mutated inputs: input `i` is `seeds[i % seeds.count]` mutated by
    /// `mutate` (which also gets the seed's index) with the generator of `(settings.seed, i)`,
    /// then given to `body` with the seed's index. Returns the outcome counts.
    public func campaign(
        seeds: [[UInt8]], settings: Settings = .fromEnvironment,
        mutate: (inout [UInt8], _ seedIndex: Int, inout SeededGenerator) -> [String],
        _ body: (_ input: [UInt8], _ seedIndex: Int) -> FuzzOutcome
    ) -> FuzzCounts {
        precondition(!seeds.isEmpty, "a fuzz campaign needs at least one seed input")
        var counts = FuzzCounts()
        for iteration in 0..<settings.iterations {
            var generator = SeededGenerator.stream(iteration, of: settings.seed)
            let seedIndex = iteration % seeds.count
            var input = seeds[seedIndex]
            let mutations = mutate(&input, seedIndex, &generator)
            let outcome = run(
                input,
                description:
                    "\(parser) seed=\(settings.seed) iteration=\(iteration) (\(mutations.joined(separator: ", ")))",
                crashFileName: "\(parser)-\(settings.seed)-\(iteration).bin"
            ) { body($0, seedIndex) }
            counts.record(outcome)
        }
        return counts
    }

    /// The report line of a campaign: `fuzz <parser>: N inputs (seed S): A success, B typed error, 0 crash`.
    public func report(_ counts: FuzzCounts, settings: Settings = .fromEnvironment) -> String {
        "fuzz \(parser): \(counts.total) inputs (seed \(settings.seed)): \(counts.success) success, \(counts.typedError) typed error, 0 crash"
    }
}

/// The process-wide slots and signal handler behind ``FuzzHarness``.
private final class CrashReporter: @unchecked Sendable {
    static let shared = CrashReporter()

    static let slotCount = 16
    static let lineCapacity = 512
    static let pathCapacity = 1024

    /// Per slot: whether it is armed, its line, the crash-file path and the input.
    fileprivate struct Slot {
        var armed: Int32 = 0
        var line: UnsafeMutablePointer<CChar>
        var lineLength = 0
        var path: UnsafeMutablePointer<CChar>
        var hasPath: Int32 = 0
        var input: UnsafeMutablePointer<UInt8>?
        var inputCount = 0
    }

    private let lock = NSLock()
    private var used = [Bool](repeating: false, count: slotCount)
    private let crashDirectory = ProcessInfo.processInfo.environment["KANDINSKY_FUZZ_CRASH_DIR"]

    private init() {
        crashSlots = .allocate(capacity: Self.slotCount)
        for i in 0..<Self.slotCount {
            crashSlots.advanced(by: i).initialize(
                to: Slot(line: .allocate(capacity: Self.lineCapacity), path: .allocate(capacity: Self.pathCapacity)))
        }
        previousActions = .allocate(capacity: 65)
        for signal in crashSignals {
            var action = sigaction()
            #if os(Linux)
                action.__sigaction_handler.sa_handler = crashSignalHandler
            #else
                action.__sigaction_u.__sa_handler = crashSignalHandler
            #endif
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, previousActions.advanced(by: Int(signal)))
        }
    }

    func claimSlot() -> Int {
        lock.lock()
        defer { lock.unlock() }
        guard let index = used.firstIndex(of: false) else {
            preconditionFailure("more than \(Self.slotCount) fuzz harnesses at once")
        }
        used[index] = true
        return index
    }

    func release(_ slot: Int) {
        lock.lock()
        used[slot] = false
        lock.unlock()
    }

    func arm(_ index: Int, line: String, input: [UInt8], fileName: String) {
        let slot = crashSlots.advanced(by: index)
        slot.pointee.armed = 0
        slot.pointee.lineLength = copyCString(line, into: slot.pointee.line, capacity: Self.lineCapacity)
        if let crashDirectory {
            _ = copyCString(crashDirectory + "/" + fileName, into: slot.pointee.path, capacity: Self.pathCapacity)
            slot.pointee.hasPath = 1
        }
        slot.pointee.input?.deallocate()
        let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(input.count, 1))
        copy.initialize(from: input, count: input.count)
        slot.pointee.input = copy
        slot.pointee.inputCount = input.count
        slot.pointee.armed = 1
    }

    func disarm(_ index: Int) {
        crashSlots.advanced(by: index).pointee.armed = 0
    }

    /// Copies `string` as a NUL-terminated C string (cut to fit); returns its length.
    private func copyCString(_ string: String, into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        var length = 0
        for byte in string.utf8 where length < capacity - 1 {
            buffer[length] = CChar(bitPattern: byte)
            length += 1
        }
        buffer[length] = 0
        return length
    }

    /// Called from the signal handler: only async-signal-safe calls.
    static func report() {
        for i in 0..<slotCount {
            let slot = crashSlots.advanced(by: i)
            guard slot.pointee.armed == 1 else { continue }
            _ = write(2, slot.pointee.line, slot.pointee.lineLength)
            if slot.pointee.hasPath == 1, let input = slot.pointee.input {
                let fd = open(slot.pointee.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                if fd >= 0 {
                    _ = write(fd, input, slot.pointee.inputCount)
                    close(fd)
                }
            }
        }
    }
}

/// The slots, reachable from the C signal handler (which cannot capture).
nonisolated(unsafe) private var crashSlots: UnsafeMutablePointer<CrashReporter.Slot>!
/// The actions replaced by ``crashSignalHandler``, indexed by signal number.
nonisolated(unsafe) private var previousActions: UnsafeMutablePointer<sigaction>!
private let crashSignals = [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE]

private func crashSignalHandler(_ signal: Int32) {
    CrashReporter.report()
    // Hand over to what was there before (the Swift runtime's backtracer, or the default
    // action), so the process still prints its backtrace and dies of the signal.
    for other in crashSignals { sigaction(other, previousActions.advanced(by: Int(other)), nil) }
    raise(signal)
}

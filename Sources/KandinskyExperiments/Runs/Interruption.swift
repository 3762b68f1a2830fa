import Foundation
import Synchronization

/// Ctrl-C handling for long runs: the first SIGINT only raises a flag that training checks
/// between batches (so it can finish the batch, write a checkpoint and exit cleanly); a second
/// SIGINT exits at once.
public enum Interruption {
    private static let requested = Atomic<Bool>(false)

    /// Whether an interrupt has been requested since ``install()``.
    public static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Installs the SIGINT and SIGTERM handlers and unblocks both signals on the calling thread.
    ///
    /// A process inherits the signal mask of the thread that started it, and a parent that
    /// launches it from a worker thread (a Dispatch queue, say) may have those signals blocked;
    /// without the unblocking, such a run would never see its interrupt.
    public static func install() {
        requested.store(false, ordering: .relaxed)
        signal(SIGINT, handleSignal)
        signal(SIGTERM, handleSignal)
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// Raises the flag as a signal would (for tests and embedding applications).
    public static func request() {
        requested.store(true, ordering: .relaxed)
    }

    /// Clears the flag.
    public static func reset() {
        requested.store(false, ordering: .relaxed)
    }

    private static let handleSignal: @convention(c) (Int32) -> Void = { _ in
        if Interruption.requested.exchange(true, ordering: .relaxed) {
            _exit(130)
        }
        let message = "\nkandinsky: interrupt received; finishing the current batch (press Ctrl-C again to abort)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
    }
}

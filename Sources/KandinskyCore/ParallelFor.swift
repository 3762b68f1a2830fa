import Dispatch
import Foundation
import Synchronization

/// The number of cores Kandinsky spreads work over (the active processor count, at least 1).
public var availableCoreCount: Int { max(ProcessInfo.processInfo.activeProcessorCount, 1) }

/// Runs `body` over `range` split into contiguous chunks, one or more per core, and returns when
/// all chunks are done.
///
/// Chunks are disjoint, so `body` may write to disjoint parts of shared buffers without locks.
/// With one core, or a range of one element, `body` runs on the calling thread.
///
/// - Parameters:
///   - range: the indices to cover.
///   - chunkCount: how many chunks to make; defaults to the number of cores.
///   - body: called once per chunk with that chunk's indices.
public func parallelFor(_ range: Range<Int>, chunkCount: Int? = nil, _ body: (Range<Int>) -> Void) {
    let chunks = min(chunkCount ?? availableCoreCount, range.count)
    if chunks <= 1 {
        if !range.isEmpty { body(range) }
        return
    }
    let size = range.count / chunks, extra = range.count % chunks
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = range.lowerBound + chunk * size + min(chunk, extra)
            let end = start + size + (chunk < extra ? 1 : 0)
            box.value(start..<end)
        }
    }
}

/// Runs `body(index, worker)` for every index of `range` on up to `workers` threads (default:
/// the number of cores) that claim the indices one at a time, in increasing order; returns when
/// all are done. `worker` < `workers` names the calling thread's slot, for per-thread scratch.
///
/// Unlike ``parallelFor(_:chunkCount:_:)``'s fixed chunks, a thread that runs slower (another
/// process sharing its core, a busier cache) does fewer items instead of holding up the others.
/// Which thread runs an index varies from run to run, so use it where an item's result does not
/// depend on the thread (disjoint outputs, scratch fully rewritten per item); sums across items
/// need fixed chunks to stay deterministic.
public func parallelForEach(_ range: Range<Int>, workers: Int? = nil, _ body: (_ index: Int, _ worker: Int) -> Void) {
    let threads = min(workers ?? availableCoreCount, range.count)
    if threads <= 1 {
        for index in range { body(index, 0) }
        return
    }
    let next = Atomic<Int>(range.lowerBound)
    parallelFor(0..<threads, chunkCount: threads) { slots in
        for worker in slots {
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < range.upperBound else { break }
                body(index, worker)
            }
        }
    }
}

/// Wraps a value that is safe to share for the duration of a call although its type does not say so.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

import Dispatch
import Foundation
import Synchronization

/// The number of threads Kandinsky spreads work over: the active processor count (at least 1),
/// capped by the `KANDINSKY_THREADS` environment variable when it is set to a whole number ≥ 1.
///
/// Read once per process. An invalid `KANDINSKY_THREADS` (0, negative, not a whole number) is
/// ignored with one warning line on standard error; the `kandinsky` tool refuses it instead.
public var availableCoreCount: Int { ThreadLimit.processWorkers }

/// Runs `body` over `range` split into contiguous chunks, one or more per core, and returns when
/// all chunks are done.
///
/// Chunks are disjoint, so `body` may write to disjoint parts of shared buffers without locks.
/// The chunks' bounds depend only on `range` and `chunkCount`, never on the thread count: at
/// most ``availableCoreCount`` threads run them at once, claiming chunks in increasing order, and
/// with one worker (or one chunk) they all run on the calling thread in order.
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
    @Sendable func bounds(_ chunk: Int) -> Range<Int> { chunkBounds(range, chunks: chunks, chunk: chunk) }
    let threads = min(chunks, availableCoreCount)
    if threads <= 1 {
        for chunk in 0..<chunks { body(bounds(chunk)) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The chunks are disjoint and the call returns only when all are done (see above).
        nonisolated(unsafe) let body = body
        if threads == chunks {
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in body(bounds(chunk)) }
        } else {
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                while true {
                    let chunk = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard chunk < chunks else { break }
                    body(bounds(chunk))
                }
            }
        }
    }
}

/// The chunks ``parallelFor(_:chunkCount:_:)`` splits `range` into, in order: min(`chunkCount`
/// (default: the number of cores), `range.count`) contiguous ranges whose sizes differ by at most
/// one, the longer ones first; none for an empty range. Code that must reproduce sums made chunk
/// by chunk (a total built from partial sums over the same chunks) reads the bounds here.
package func parallelChunks(_ range: Range<Int>, chunkCount: Int? = nil) -> [Range<Int>] {
    let chunks = min(chunkCount ?? availableCoreCount, range.count)
    if chunks <= 1 { return range.isEmpty ? [] : [range] }
    return (0..<chunks).map { chunkBounds(range, chunks: chunks, chunk: $0) }
}

/// Chunk `chunk` of `range` split into `chunks` (≥ 1) contiguous ranges, the first
/// `range.count % chunks` one longer than the rest.
@inline(__always)
private func chunkBounds(_ range: Range<Int>, chunks: Int, chunk: Int) -> Range<Int> {
    let size = range.count / chunks
    let extra = range.count % chunks
    let start = range.lowerBound + chunk * size + min(chunk, extra)
    return start..<(start + size + (chunk < extra ? 1 : 0))
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

/// A raw pointer that the workers of ``parallelFor(_:chunkCount:_:)`` may share because each
/// writes a disjoint part: the package's one unchecked-`Sendable` wrapper.
package struct UncheckedPointer<Pointee>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Pointee>
    package init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
    package init(_ pointer: UnsafePointer<Pointee>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

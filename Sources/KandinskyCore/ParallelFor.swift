import Dispatch
import Foundation

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

/// Wraps a value that is safe to share for the duration of a call although its type does not say so.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

import KandinskyCore

/// Scratch memory for ``Conv2d``: for each worker thread, a column buffer (an im2col tile, a
/// Winograd block, a GEMM band of shifted windows or a padded ∂y) and a weight-gradient partial
/// sum; for all threads, one buffer for data of a single layer call (``shared(count:)``).
///
/// The layers of one network share one scratch object, so its memory is that of the largest
/// layer rather than the sum over layers. Sharing is why this is a class; a network must not be
/// run from two threads at once while its copies share a scratch object. Not part of the API:
/// a ``Conv2d`` made with the public initialiser has its own.
package final class ConvolutionScratch: @unchecked Sendable {
    private var columns: [UnsafeMutableBufferPointer<Float>]
    private var partials: [UnsafeMutableBufferPointer<Float>]
    private var sharedBuffer: [UnsafeMutableBufferPointer<Float>] = []

    /// The most floats of im2col columns one thread uses at once: a convolution processes
    /// ⌊columnBudget / (Cin·k²)⌋ pixels per GEMM.
    package let columnBudget: Int

    /// An empty scratch area; it grows on first use.
    ///
    /// The default budget, 2 Mi floats (8 MiB per thread), keeps the GEMM panels wide: OpenBLAS
    /// repacks the weight matrix on every call, so narrow tiles pay that cost often.
    package init(columnBudget: Int = 1 << 21) {
        precondition(columnBudget > 0, "the column budget must be positive, got \(columnBudget)")
        self.columnBudget = columnBudget
        columns = []
        partials = []
    }

    deinit {
        for buffer in columns + partials + sharedBuffer { buffer.deallocate() }
    }

    /// Makes sure `threads` column buffers of `columnCount` floats and partial buffers of
    /// `partialCount` floats exist. Called before a parallel section, never inside one.
    func reserve(threads: Int, columnCount: Int, partialCount: Int) {
        Self.reserve(&columns, threads: threads, count: columnCount)
        Self.reserve(&partials, threads: threads, count: partialCount)
    }

    /// A buffer of at least `count` floats shared by all threads and layers, for data that lives
    /// only during one layer call (the padded input of an inference-mode convolution through
    /// shifted windows, the Winograd-domain weights, or the rotated taps of ∂x).
    func shared(count: Int) -> UnsafeMutablePointer<Float> {
        Self.reserve(&sharedBuffer, threads: 1, count: count)
        return sharedBuffer[0].baseAddress!
    }

    func columns(thread: Int) -> UnsafeMutablePointer<Float> { columns[thread].baseAddress! }
    func partial(thread: Int) -> UnsafeMutablePointer<Float> { partials[thread].baseAddress! }

    private static func reserve(_ buffers: inout [UnsafeMutableBufferPointer<Float>], threads: Int, count: Int) {
        while buffers.count < threads {
            buffers.append(.allocate(capacity: max(count, 1)))
        }
        for t in 0..<threads where buffers[t].count < count {
            buffers[t].deallocate()
            buffers[t] = .allocate(capacity: count)
        }
    }
}

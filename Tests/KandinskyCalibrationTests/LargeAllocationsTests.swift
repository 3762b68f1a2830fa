import CKandinskyKernels
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Large allocations come from their own memory maps")
struct LargeAllocationsTests {
    /// After `kandinsky_map_allocations_of_at_least(1 MiB)`, a 3 MiB block is a memory map of
    /// its own even after a 24 MiB block was freed (which, left to glibc, raises the threshold
    /// to 24 MiB and sends the next 3 MiB block to the heap). glibc rounds a mapped block up to
    /// whole pages, a heap block only to 16 bytes, so a usable size at least 2 KiB above the
    /// request tells a mapped block apart; other threads' allocations cannot change it.
    @Test func blocksAboveTheThresholdAreMappedEvenAfterALargerBlockWasFreed() throws {
        #if canImport(Glibc)
            #expect(kandinsky_map_allocations_of_at_least(1 << 20) == 1)
            let large = try #require(malloc(24 << 20))
            free(large)
            let request = 3 << 20
            let block = try #require(malloc(request))
            defer { free(block) }
            // glibc's malloc_usable_size, which the Glibc module does not declare.
            let symbol = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_usable_size"))
            typealias UsableSize = @convention(c) (UnsafeMutableRawPointer?) -> Int
            let usable = unsafeBitCast(symbol, to: UsableSize.self)(block)
            #expect(
                usable >= request + 2048, "a \(request)-byte block has \(usable) usable bytes: not a map of its own")
        #else
            #expect(kandinsky_map_allocations_of_at_least(1 << 20) == 0)
        #endif
    }
}

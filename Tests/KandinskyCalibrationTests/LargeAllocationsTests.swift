import CKandinskyKernels
import Testing

@Suite("Large allocations come from their own memory maps")
struct LargeAllocationsTests {
    /// On glibc the setting is made (`mallopt` accepts it); elsewhere there is none to make.
    ///
    /// Where a block then comes from is not checked here: glibc serves a request from a free
    /// block of its heap before it maps new memory, so in a process whose other tests have freed
    /// large blocks the answer depends on them. The resident memory the setting saves is measured
    /// by the scale benchmark (`scripts/bench/score_scale.sh`).
    @Test func theSettingIsMadeWhereTheCLibraryHasIt() {
        #if canImport(Glibc)
            #expect(kandinsky_map_allocations_of_at_least(1 << 20) == 1)
        #else
            #expect(kandinsky_map_allocations_of_at_least(1 << 20) == 0)
        #endif
    }
}

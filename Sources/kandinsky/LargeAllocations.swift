import CKandinskyKernels

/// The C allocator's treatment of large blocks in the commands that read shard after shard.
enum LargeAllocations {
    /// Makes blocks of 1 MiB and more come from their own memory maps, returned to the system
    /// when freed.
    ///
    /// glibc starts with a 128 KiB threshold but raises it to the size of each larger block
    /// freed (up to 32 MiB); after the first shard, shard-sized arrays then come from the heap,
    /// whose freed pages stay resident, so resident memory grew with every part scored (1.2 GB
    /// after 50 parts of 20,000 images, against 0.3 GB with a fixed threshold). Fixing the
    /// threshold also turns off that raising. Elsewhere this does nothing.
    static func returnToTheSystemWhenFreed() {
        _ = kandinsky_map_allocations_of_at_least(1 << 20)
    }
}

import CKandinskyKernels

/// The C allocator's treatment of large blocks in the commands that read shard after shard.
enum LargeAllocations {
    /// Makes blocks of 1 MiB and more come from their own memory maps, returned to the system
    /// when freed.
    ///
    /// glibc starts with a 128 KiB threshold but raises it to the size of each larger block
    /// freed (up to 32 MiB): after the first shard of 100 float32 images at 240 × 320 it stood
    /// at 30.7 MB, so shard-sized arrays came from the heap, and its freed pages stayed
    /// resident. Scoring 2,000 images into 20 parts beside two busy loops peaked at 223–280 MB
    /// of anonymous memory; with the threshold fixed, 123 MB. Fixing it also turns off the
    /// raising. Elsewhere this does nothing.
    static func returnToTheSystemWhenFreed() {
        _ = kandinsky_map_allocations_of_at_least(1 << 20)
    }
}

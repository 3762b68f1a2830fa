#ifndef KANDINSKY_LARGE_ALLOCATIONS_H
#define KANDINSKY_LARGE_ALLOCATIONS_H

/// Makes the C allocator serve blocks of at least `bytes` from their own memory maps, returned
/// to the system when freed (glibc's `mallopt(M_MMAP_THRESHOLD, bytes)`, which also stops glibc
/// from raising the threshold to the largest block freed). Returns 1 when the setting was made,
/// 0 where the C library has no such setting.
int kandinsky_map_allocations_of_at_least(int bytes);

#endif

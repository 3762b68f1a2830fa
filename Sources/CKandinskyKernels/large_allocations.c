#include "large_allocations.h"

// <stdlib.h> defines __GLIBC__ on glibc (through <features.h>); testing the macro before any
// system header is included would compile the setting out.
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int kandinsky_map_allocations_of_at_least(int bytes) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, bytes) == 1;
#else
    (void)bytes;
    return 0;
#endif
}

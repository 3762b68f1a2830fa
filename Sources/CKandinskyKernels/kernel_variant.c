#include "kernel_variant.h"

int kandinsky_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

kandinsky_kernel_variant kandinsky_kernel_best_variant(void) {
    return kandinsky_cpu_has_avx2_fma() ? kandinsky_kernel_avx2_fma : kandinsky_kernel_baseline;
}

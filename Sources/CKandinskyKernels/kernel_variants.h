#ifndef KANDINSKY_KERNEL_VARIANTS_H
#define KANDINSKY_KERNEL_VARIANTS_H

// Private to the kernels' sources. KANDINSKY_AVX2 marks a function compiled for AVX2 + FMA
// (a function target attribute, so the package needs no compiler flag); callers pick that
// variant at run time with kandinsky_cpu_has_avx2_fma(). KANDINSKY_HAS_AVX2_VARIANT is 0 where
// the attribute does not exist, and only the baseline variants are built.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KANDINSKY_AVX2 __attribute__((target("avx2,fma")))
#define KANDINSKY_HAS_AVX2_VARIANT 1
#else
#define KANDINSKY_HAS_AVX2_VARIANT 0
#endif

#endif

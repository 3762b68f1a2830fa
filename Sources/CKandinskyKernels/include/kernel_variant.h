#ifndef KANDINSKY_KERNEL_VARIANT_H
#define KANDINSKY_KERNEL_VARIANT_H

/// The instruction sets every kernel of this target is compiled for.
///
/// Each kernel's body is written once and compiled twice: for the baseline instruction set and,
/// through `__attribute__((target("avx2,fma")))`, for AVX2 + FMA, so no compiler flag is needed
/// to build the package. Callers pass the variant to run; both run the same operations in the
/// same order (only FMA contraction may differ). Sizes and strides are `long` (Swift `Int`).
typedef enum {
    /// Portable C vectors (SSE2 on x86-64): runs everywhere.
    kandinsky_kernel_baseline = 0,
    /// AVX2 + FMA: only on CPUs where `kandinsky_cpu_has_avx2_fma()` is nonzero (builds for
    /// other architectures run the baseline instead).
    kandinsky_kernel_avx2_fma = 1,
} kandinsky_kernel_variant;

/// Whether the running CPU executes AVX2 and FMA instructions (x86-64 only; 0 elsewhere).
int kandinsky_cpu_has_avx2_fma(void);

/// The fastest variant the running CPU executes.
kandinsky_kernel_variant kandinsky_kernel_best_variant(void);

#endif

#ifndef KANDINSKY_CPU_FEATURES_H
#define KANDINSKY_CPU_FEATURES_H

/// Whether the running CPU executes AVX2 and FMA instructions (x86-64 only; 0 elsewhere).
///
/// Kernels in this target are compiled for the baseline instruction set and, where it pays,
/// once more for AVX2 + FMA through `__attribute__((target("avx2,fma")))`; callers choose the
/// variant at run time with this query, so no compiler flag is needed to build the package.
int kandinsky_cpu_has_avx2_fma(void);

#endif

#ifndef KANDINSKY_KERNEL_SUPPORT_H
#define KANDINSKY_KERNEL_SUPPORT_H

// Private to the kernels' sources: the one home of their inline, variant and vector macros.

#include "kernel_variant.h"

// A kernel body: an always-inline function, instantiated once per variant by a wrapper.
#define KANDINSKY_INLINE static inline __attribute__((always_inline))

// KANDINSKY_AVX2 marks the wrapper compiled for AVX2 + FMA (a function target attribute, so the
// package needs no compiler flag). KANDINSKY_HAS_AVX2_VARIANT is 0 where the attribute does not
// exist, and only the baseline wrappers are built.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KANDINSKY_AVX2 __attribute__((target("avx2,fma")))
#define KANDINSKY_HAS_AVX2_VARIANT 1
#else
#define KANDINSKY_HAS_AVX2_VARIANT 0
#endif

// Calls `kernel_avx2(...)` for the AVX2 + FMA variant where it is built, `kernel_baseline(...)`
// otherwise: the one way a public entry point picks its variant.
#if KANDINSKY_HAS_AVX2_VARIANT
#define KANDINSKY_DISPATCH(variant, kernel, ...) \
    ((variant) == kandinsky_kernel_avx2_fma ? kernel##_avx2(__VA_ARGS__) : kernel##_baseline(__VA_ARGS__))
#else
#define KANDINSKY_DISPATCH(variant, kernel, ...) ((void)(variant), kernel##_baseline(__VA_ARGS__))
#endif

// Eight lanes, written with Clang vector extensions: the baseline compilation splits them into
// two SSE registers, the AVX2 one keeps them in one ymm register and contracts multiply-adds
// into FMA.
typedef float float8 __attribute__((ext_vector_type(8)));
typedef int int8 __attribute__((ext_vector_type(8)));
typedef double double4 __attribute__((ext_vector_type(4)));
// The same vector read from or written to any float address.
typedef float float8_unaligned __attribute__((ext_vector_type(8), aligned(4)));

// Macros rather than functions: a function taking or returning an eight-lane vector would have
// a different ABI in the baseline and AVX2 compilations.
#define LOAD8(p) (*(const float8_unaligned *)(p))
#define STORE8(p, v) (*(float8_unaligned *)(p) = (v))
// A broadcast of a float variable; `(float8){0} + s` would cost an addition, as 0 + s is not s
// for s = −0.
#define SPLAT8(s) ((float8){s, s, s, s, s, s, s, s})

#endif

#ifndef KANDINSKY_ANNULUS_PAIR_DISTANCES_H
#define KANDINSKY_ANNULUS_PAIR_DISTANCES_H

#include <stddef.h>

/// Sums of Euclidean distances between feature vectors, the inner loops of the exact annulus
/// objective.
///
/// Points are stored dimension-major: coordinate t of point i is `points[t * stride + i]`.
/// Every distance is computed in Float32 (differences, squares and their sum, then a correctly
/// rounded square root; eight lanes at a time, except the few pairs inside one block of 8 or 16
/// points, which go one at a time into Double); each lane accumulates at most 256 distances in
/// Float32 before the partial sums are added to Double, so the relative rounding of a sum stays
/// within a few hundred Float32 unit roundoffs, however many pairs it has. The order of every
/// addition depends only on the counts and the variant, so results are reproducible.

/// The instruction sets a kernel can be compiled for.
typedef enum {
    /// Portable C vectors (SSE2 on x86-64): runs everywhere.
    kandinsky_pair_distances_baseline = 0,
    /// AVX2 + FMA: only on CPUs where `kandinsky_cpu_has_avx2_fma()` is nonzero (builds for
    /// other architectures run the baseline instead).
    kandinsky_pair_distances_avx2_fma = 1,
} kandinsky_pair_distances_variant;

/// The fastest variant the running CPU executes.
kandinsky_pair_distances_variant kandinsky_pair_distances_best_variant(void);

/// Σ_{i < j < count} ‖p_i − p_j‖₂ over the unordered pairs of `count` points of `dimension`
/// coordinates.
///
/// Complexity: O(count² · dimension) time, O(dimension) stack.
double kandinsky_pair_distances_within(kandinsky_pair_distances_variant variant,
                                       const float *points, ptrdiff_t stride, size_t count, size_t dimension);

/// Σ_{i < a_count} Σ_{j < b_count} ‖a_i − b_j‖₂ over all pairs of one point of `a` and one of `b`.
///
/// Complexity: O(a_count · b_count · dimension) time, O(dimension) stack.
double kandinsky_pair_distances_cross(kandinsky_pair_distances_variant variant,
                                      const float *a, ptrdiff_t a_stride, size_t a_count,
                                      const float *b, ptrdiff_t b_stride, size_t b_count, size_t dimension);

#endif

#ifndef KANDINSKY_ANNULUS_PAIR_DISTANCES_H
#define KANDINSKY_ANNULUS_PAIR_DISTANCES_H

#include "kernel_variant.h"

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

/// Σ_{i < j < count} ‖p_i − p_j‖₂ over the unordered pairs of `count` points of `dimension`
/// coordinates.
///
/// Complexity: O(count² · dimension) time, O(dimension) stack.
double kandinsky_pair_distances_within(kandinsky_kernel_variant variant,
                                       const float *points, long stride, long count, long dimension);

/// Σ_{i < a_count} Σ_{j < b_count} ‖a_i − b_j‖₂ over all pairs of one point of `a` and one of `b`.
///
/// Complexity: O(a_count · b_count · dimension) time, O(dimension) stack.
double kandinsky_pair_distances_cross(kandinsky_kernel_variant variant,
                                      const float *a, long a_stride, long a_count,
                                      const float *b, long b_stride, long b_count, long dimension);

#endif

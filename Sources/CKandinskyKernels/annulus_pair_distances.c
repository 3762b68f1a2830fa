#include "annulus_pair_distances.h"

#include <math.h>
#include <string.h>

#include "kernel_support.h"

// One implementation written with Clang vector extensions and inlined into two wrappers: the
// baseline one compiles it for the target's default instruction set (two SSE registers per
// eight lanes on x86-64), the AVX2 one for AVX2 + FMA (one register per eight lanes, and fused
// multiply-adds for the squared distances).

enum {
    /// The widest block of columns held in registers while the rows stream past: two vectors,
    /// so each row's broadcast coordinates serve sixteen pairs. The baseline variant uses one
    /// vector: its eight lanes take two SSE registers per coordinate, and two vectors of four
    /// coordinates would fill all sixteen registers.
    max_block_columns = 16,
    /// Distances a Float32 lane accumulates before it is added to Double.
    rows_per_flush = 256,
};

// A macro rather than a function, as LOAD8 (kernel_support.h).
#define WIDEN_SUM(v) (__builtin_convertvector((v).lo, double4) + __builtin_convertvector((v).hi, double4))

/// Σ_{r < row_count} Σ_{j < width} ‖row_r − column_j‖₂ for a block of `vectors` · 8 ≥ width
/// readable columns (lanes j ≥ width are masked out after the square root).
///
/// The column coordinates stay in registers when `dimension` is a compile-time constant; the
/// rows are read once each. O(row_count · vectors · dimension).
KANDINSKY_INLINE double block_sum(const float *rows, long row_stride, long row_count,
                                  const float *columns, long column_stride, long width,
                                  long dimension, long vectors) {
    const int8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    int8 keep[2] = {lane < (int)width, lane + 8 < (int)width};
    double4 total = 0;
    for (long begin = 0; begin < row_count; begin += rows_per_flush) {
        long end = row_count - begin < rows_per_flush ? row_count : begin + rows_per_flush;
        float8 sums[2] = {0, 0};
        for (long r = begin; r < end; ++r) {
            // −0 + x is x for every x (+0 + −0 is +0), so the compiler folds the first
            // addition away and starts with a plain square.
            float8 squared[2] = {-0.0f, -0.0f};
            for (long t = 0; t < dimension; ++t) {
                float8 x = rows[t * row_stride + r];
                for (long v = 0; v < vectors; ++v) {
                    float8 delta = LOAD8(columns + t * column_stride + 8 * v) - x;
                    squared[v] = delta * delta + squared[v];
                }
            }
            for (long v = 0; v < vectors; ++v) {
                sums[v] += (float8)((int8)__builtin_elementwise_sqrt(squared[v]) & keep[v]);
            }
        }
        for (long v = 0; v < vectors; ++v) total += WIDEN_SUM(sums[v]);
    }
    return (total.x + total.y) + (total.z + total.w);
}

/// Σ over the last `width` < 8 · `vectors` columns (starting at `first`), copied into a
/// zero-padded block so that the vector loads stay inside the caller's buffer.
KANDINSKY_INLINE double tail_block_sum(const float *rows, long row_stride, long row_count,
                                       const float *columns, long column_stride, long first, long width,
                                       long dimension, long vectors) {
    float padded[dimension * max_block_columns];
    memset(padded, 0, sizeof padded);
    for (long t = 0; t < dimension; ++t) {
        memcpy(padded + t * max_block_columns, columns + t * column_stride + first, (size_t)width * sizeof(float));
    }
    // One vector suffices when eight lanes hold the columns left.
    return width > 8 ? block_sum(rows, row_stride, row_count, padded, max_block_columns, width, dimension, vectors)
                     : block_sum(rows, row_stride, row_count, padded, max_block_columns, width, dimension, 1);
}

/// Σ_{begin ≤ i < j < end} ‖p_i − p_j‖₂, one pair at a time (the pairs inside one block).
KANDINSKY_INLINE double triangle_sum(const float *points, long stride, long begin, long end, long dimension) {
    double total = 0;
    for (long i = begin; i < end; ++i) {
        for (long j = i + 1; j < end; ++j) {
            float squared = -0.0f;
            for (long t = 0; t < dimension; ++t) {
                float delta = points[t * stride + j] - points[t * stride + i];
                squared = delta * delta + squared;
            }
            total += sqrtf(squared);
        }
    }
    return total;
}

/// Each block of 8 · `vectors` points against all points before it, plus the pairs inside the
/// block.
KANDINSKY_INLINE double within_sum(const float *points, long stride, long count, long dimension, long vectors) {
    const long block_columns = 8 * vectors;
    double total = 0;
    long full_end = count - count % block_columns;
    for (long begin = 0; begin < full_end; begin += block_columns) {
        total += block_sum(points, stride, begin, points + begin, stride, block_columns, dimension, vectors);
        total += triangle_sum(points, stride, begin, begin + block_columns, dimension);
    }
    if (full_end < count) {
        total += tail_block_sum(points, stride, full_end, points, stride, full_end, count - full_end, dimension,
                                vectors);
        total += triangle_sum(points, stride, full_end, count, dimension);
    }
    return total;
}

/// The larger set supplies the column blocks (8 · `vectors` points each), so that each block's
/// setup is shared by as many rows as the smaller set has.
KANDINSKY_INLINE double cross_sum(const float *a, long a_stride, long a_count,
                                  const float *b, long b_stride, long b_count, long dimension, long vectors) {
    if (a_count > b_count) {
        const float *points = a;
        long stride = a_stride;
        long count = a_count;
        a = b, a_stride = b_stride, a_count = b_count;
        b = points, b_stride = stride, b_count = count;
    }
    const long block_columns = 8 * vectors;
    double total = 0;
    long full_end = b_count - b_count % block_columns;
    for (long begin = 0; begin < full_end; begin += block_columns) {
        total += block_sum(a, a_stride, a_count, b + begin, b_stride, block_columns, dimension, vectors);
    }
    if (full_end < b_count) {
        total += tail_block_sum(a, a_stride, a_count, b, b_stride, full_end, b_count - full_end, dimension, vectors);
    }
    return total;
}

// The four-coordinate case (the default curve features) gets its own instantiation, so the
// column block lives in registers.

static double within_baseline(const float *points, long stride, long count, long dimension) {
    return dimension == 4 ? within_sum(points, stride, count, 4, 1) : within_sum(points, stride, count, dimension, 1);
}

static double cross_baseline(const float *a, long a_stride, long a_count,
                             const float *b, long b_stride, long b_count, long dimension) {
    return dimension == 4 ? cross_sum(a, a_stride, a_count, b, b_stride, b_count, 4, 1)
                          : cross_sum(a, a_stride, a_count, b, b_stride, b_count, dimension, 1);
}

#if KANDINSKY_HAS_AVX2_VARIANT
KANDINSKY_AVX2
static double within_avx2(const float *points, long stride, long count, long dimension) {
    return dimension == 4 ? within_sum(points, stride, count, 4, 2) : within_sum(points, stride, count, dimension, 2);
}

KANDINSKY_AVX2
static double cross_avx2(const float *a, long a_stride, long a_count,
                         const float *b, long b_stride, long b_count, long dimension) {
    return dimension == 4 ? cross_sum(a, a_stride, a_count, b, b_stride, b_count, 4, 2)
                          : cross_sum(a, a_stride, a_count, b, b_stride, b_count, dimension, 2);
}
#endif

double kandinsky_pair_distances_within(kandinsky_kernel_variant variant,
                                       const float *points, long stride, long count, long dimension) {
    return KANDINSKY_DISPATCH(variant, within, points, stride, count, dimension);
}

double kandinsky_pair_distances_cross(kandinsky_kernel_variant variant,
                                      const float *a, long a_stride, long a_count,
                                      const float *b, long b_stride, long b_count, long dimension) {
    return KANDINSKY_DISPATCH(variant, cross, a, a_stride, a_count, b, b_stride, b_count, dimension);
}

#include "winograd_f4x3.h"
#include "kernel_support.h"

#include <string.h>

// The transforms are separable: a 6 × 6 tile is transformed along its rows, then along its
// columns. Both passes are written as loops over whole rows of tiles so that every inner loop
// runs over consecutive memory and vectorises; the stride-4 walk between neighbouring tiles is
// done once per input row by splitting it into its four phases (columns ≡ 0, 1, 2, 3 mod 4).
//
// The bodies are always-inline functions instantiated twice, once per instruction set, so the
// two variants run the same operations in the same order (only FMA contraction may differ).

long kandinsky_winograd_f4x3_workspace_count(long width) {
    long phase = (width + 3) / 4 + 1;
    // One padded input row (4 phases), the six split rows and their six column transforms.
    return 4 * phase + 2 * 24 * phase;
}

/// out[i·out_stride + x] = (Bᵀ (d₀ … d₅)ᵀ)[i] at x for x < count: one pass of the input
/// transform over six rows of `count` values.
KANDINSKY_INLINE void b_transpose(const float *const d[6], float *out, long out_stride, long count) {
    const float *d0 = d[0], *d1 = d[1], *d2 = d[2], *d3 = d[3], *d4 = d[4], *d5 = d[5];
    float *o0 = out, *o1 = o0 + out_stride, *o2 = o1 + out_stride;
    float *o3 = o2 + out_stride, *o4 = o3 + out_stride, *o5 = o4 + out_stride;
    for (long x = 0; x < count; ++x) {
        o0[x] = 4 * d0[x] - 5 * d2[x] + d4[x];
        o1[x] = -4 * (d1[x] + d2[x]) + d3[x] + d4[x];
        o2[x] = 4 * (d1[x] - d2[x]) - d3[x] + d4[x];
        o3[x] = 2 * (d3[x] - d1[x]) - d2[x] + d4[x];
        o4[x] = 2 * (d1[x] - d3[x]) - d2[x] + d4[x];
        o5[x] = 4 * d1[x] - 5 * d3[x] + d5[x];
    }
}

KANDINSKY_INLINE void input_transform(const float *restrict images, long channels, long height, long width,
                                      long first_tile_row, long tile_row_count,
                                      float *restrict transformed, float *restrict workspace) {
    const long tiles_high = (height + 3) / 4, tiles_wide = (width + 3) / 4;
    const long tiles = tile_row_count * tiles_wide, point_stride = channels * tiles;
    // phase[q][j] = padded row[4j + q] for j ≤ tiles_wide: tile j reads phases 0–3 at j and
    // phases 0–1 at j + 1.
    const long phase = tiles_wide + 1, split = 4 * phase;
    float *restrict line = workspace;
    float *restrict rows = line + split;        // [6 rows][4 phases][phase]
    float *restrict columns = rows + 6 * split; // [6 k][4 phases][phase]
    for (long r = 0; r < tile_row_count; ++r) {
        const long global = first_tile_row + r, image = global / tiles_high, i = global % tiles_high;
        for (long c = 0; c < channels; ++c) {
            const float *plane = images + (image * channels + c) * height * width;
            for (long u = 0; u < 6; ++u) {
                const long source = 4 * i - 1 + u;
                float *restrict out = rows + u * split;
                if (source < 0 || source >= height) {
                    memset(out, 0, (size_t)split * sizeof(float));
                    continue;
                }
                line[0] = 0;
                memcpy(line + 1, plane + source * width, (size_t)width * sizeof(float));
                for (long x = width + 1; x < split; ++x) line[x] = 0;
                for (long q = 0; q < 4; ++q) {
                    for (long j = 0; j < phase; ++j) out[q * phase + j] = line[4 * j + q];
                }
            }
            // Bᵀ along the tile's rows (the six input rows), for every column at once.
            const float *p[6] = {rows, rows + split, rows + 2 * split, rows + 3 * split, rows + 4 * split,
                                 rows + 5 * split};
            b_transpose(p, columns, split, split);
            // B along the columns: tile j's six values are phases 0–3 at j, 0–1 at j + 1.
            float *out = transformed + c * tiles + r * tiles_wide;
            for (long k = 0; k < 6; ++k) {
                const float *d0 = columns + k * split, *d1 = d0 + phase, *d2 = d1 + phase, *d3 = d2 + phase;
                const float *d[6] = {d0, d1, d2, d3, d0 + 1, d1 + 1};
                b_transpose(d, out + 6 * k * point_stride, point_stride, tiles_wide);
            }
        }
    }
}

KANDINSKY_INLINE void output_transform(const float *restrict transformed, const float *restrict bias,
                                       long channels, long height, long width,
                                       long first_tile_row, long tile_row_count,
                                       float *restrict images, float *restrict workspace) {
    const long tiles_high = (height + 3) / 4, tiles_wide = (width + 3) / 4;
    const long tiles = tile_row_count * tiles_wide, point_stride = channels * tiles;
    float *restrict row = workspace;                   // 4 · tiles_wide interleaved pixels
    float *restrict half = row + 4 * tiles_wide;       // [6 k][4 q][tiles_wide]
    float *restrict full = half + 24 * tiles_wide;     // [4 p][4 q][tiles_wide]
    for (long r = 0; r < tile_row_count; ++r) {
        const long global = first_tile_row + r, image = global / tiles_high, i = global % tiles_high;
        const long rows = height - 4 * i < 4 ? height - 4 * i : 4;
        for (long c = 0; c < channels; ++c) {
            const float *m = transformed + c * tiles + r * tiles_wide;
            // A along the columns of each of the six transformed rows.
            for (long k = 0; k < 6; ++k) {
                const float *m0 = m + 6 * k * point_stride, *m1 = m0 + point_stride, *m2 = m1 + point_stride;
                const float *m3 = m2 + point_stride, *m4 = m3 + point_stride, *m5 = m4 + point_stride;
                float *h0 = half + 4 * k * tiles_wide, *h1 = h0 + tiles_wide, *h2 = h1 + tiles_wide, *h3 = h2 + tiles_wide;
                for (long j = 0; j < tiles_wide; ++j) {
                    const float sum12 = m1[j] + m2[j], difference12 = m1[j] - m2[j];
                    const float sum34 = m3[j] + m4[j], difference34 = m3[j] - m4[j];
                    h0[j] = m0[j] + sum12 + sum34;
                    h1[j] = difference12 + 2 * difference34;
                    h2[j] = sum12 + 4 * sum34;
                    h3[j] = difference12 + 8 * difference34 + m5[j];
                }
            }
            // Aᵀ along the rows, plus the bias, for all four column phases at once.
            const float b = bias ? bias[c] : 0;
            const long span = 4 * tiles_wide;
            const float *s0 = half, *s1 = half + span, *s2 = half + 2 * span;
            const float *s3 = half + 3 * span, *s4 = half + 4 * span, *s5 = half + 5 * span;
            float *f0 = full, *f1 = full + span, *f2 = full + 2 * span, *f3 = full + 3 * span;
            for (long x = 0; x < span; ++x) {
                const float sum12 = s1[x] + s2[x], difference12 = s1[x] - s2[x];
                const float sum34 = s3[x] + s4[x], difference34 = s3[x] - s4[x];
                f0[x] = b + s0[x] + sum12 + sum34;
                f1[x] = b + difference12 + 2 * difference34;
                f2[x] = b + sum12 + 4 * sum34;
                f3[x] = b + difference12 + 8 * difference34 + s5[x];
            }
            float *plane = images + (image * channels + c) * height * width;
            for (long p = 0; p < rows; ++p) {
                const float *phases = full + p * span;
                for (long j = 0; j < tiles_wide; ++j) {
                    for (long q = 0; q < 4; ++q) row[4 * j + q] = phases[q * tiles_wide + j];
                }
                memcpy(plane + (4 * i + p) * width, row, (size_t)width * sizeof(float));
            }
        }
    }
}

// A run of up to this many kernels is transformed at once, with its taps gathered first so that
// every arithmetic loop and every store runs over consecutive memory.
#define WEIGHT_RUN 64

KANDINSKY_INLINE void weight_transform(const float *restrict weight, long outputs, long inputs,
                                       long first_row, long row_count, int flip_transpose,
                                       float *restrict transformed) {
    static const float g_matrix[6][3] = {
        {1.0f / 4, 0, 0},
        {-1.0f / 6, -1.0f / 6, -1.0f / 6},
        {-1.0f / 6, 1.0f / 6, -1.0f / 6},
        {1.0f / 24, 1.0f / 12, 1.0f / 6},
        {1.0f / 24, -1.0f / 12, 1.0f / 6},
        {0, 0, 1},
    };
    // Rows are output channels and runs input channels; flipped, the other way round.
    const long run_length = flip_transpose ? outputs : inputs;
    const long run_stride = flip_transpose ? inputs * 9 : 9, row_stride = flip_transpose ? 9 : inputs * 9;
    const long point_stride = outputs * inputs;
    float taps[9][WEIGHT_RUN], left[6][3][WEIGHT_RUN];
    for (long row = first_row; row < first_row + row_count; ++row) {
        for (long start = 0; start < run_length; start += WEIGHT_RUN) {
            const long count = run_length - start < WEIGHT_RUN ? run_length - start : WEIGHT_RUN;
            const float *w = weight + row * row_stride + start * run_stride;
            for (long tap = 0; tap < 9; ++tap) {
                const long source = flip_transpose ? 8 - tap : tap;
                for (long e = 0; e < count; ++e) taps[tap][e] = w[e * run_stride + source];
            }
            // left = G g, then G g Gᵀ, each for the whole run.
            for (int k = 0; k < 6; ++k) {
                for (int v = 0; v < 3; ++v) {
                    for (long e = 0; e < count; ++e) {
                        left[k][v][e] = g_matrix[k][0] * taps[v][e] + g_matrix[k][1] * taps[3 + v][e]
                                      + g_matrix[k][2] * taps[6 + v][e];
                    }
                }
            }
            float *out = transformed + row * run_length + start;
            for (int k = 0; k < 6; ++k) {
                for (int l = 0; l < 6; ++l) {
                    float *point = out + (6 * k + l) * point_stride;
                    for (long e = 0; e < count; ++e) {
                        point[e] = left[k][0][e] * g_matrix[l][0] + left[k][1][e] * g_matrix[l][1]
                                 + left[k][2][e] * g_matrix[l][2];
                    }
                }
            }
        }
    }
}


static void input_transform_baseline(const float *images, long channels, long height, long width, long first_tile_row,
                                     long tile_row_count, float *transformed, float *workspace) {
    input_transform(images, channels, height, width, first_tile_row, tile_row_count, transformed, workspace);
}

static void output_transform_baseline(const float *transformed, const float *bias, long channels, long height, long width,
                                      long first_tile_row, long tile_row_count, float *images, float *workspace) {
    output_transform(transformed, bias, channels, height, width, first_tile_row, tile_row_count, images, workspace);
}

static void weight_transform_baseline(const float *weight, long outputs, long inputs, long first_row,
                                      long row_count, int flip_transpose, float *transformed) {
    weight_transform(weight, outputs, inputs, first_row, row_count, flip_transpose, transformed);
}

#if KANDINSKY_HAS_AVX2_VARIANT
KANDINSKY_AVX2 static void input_transform_avx2(const float *images, long channels, long height, long width,
                                                long first_tile_row, long tile_row_count, float *transformed,
                                                float *workspace) {
    input_transform(images, channels, height, width, first_tile_row, tile_row_count, transformed, workspace);
}

KANDINSKY_AVX2 static void output_transform_avx2(const float *transformed, const float *bias, long channels, long height,
                                                 long width, long first_tile_row, long tile_row_count, float *images,
                                                 float *workspace) {
    output_transform(transformed, bias, channels, height, width, first_tile_row, tile_row_count, images, workspace);
}

KANDINSKY_AVX2 static void weight_transform_avx2(const float *weight, long outputs, long inputs, long first_row,
                                                 long row_count, int flip_transpose, float *transformed) {
    weight_transform(weight, outputs, inputs, first_row, row_count, flip_transpose, transformed);
}
#endif

void kandinsky_winograd_f4x3_input_transform(const float *images, long channels, long height, long width,
                                             long first_tile_row, long tile_row_count,
                                             float *transformed, float *workspace, kandinsky_kernel_variant variant) {
    KANDINSKY_DISPATCH(variant, input_transform, images, channels, height, width, first_tile_row, tile_row_count,
                       transformed, workspace);
}

void kandinsky_winograd_f4x3_output_transform(const float *transformed, const float *bias,
                                              long channels, long height, long width,
                                              long first_tile_row, long tile_row_count,
                                              float *images, float *workspace, kandinsky_kernel_variant variant) {
    KANDINSKY_DISPATCH(variant, output_transform, transformed, bias, channels, height, width, first_tile_row,
                       tile_row_count, images, workspace);
}

void kandinsky_winograd_f4x3_weight_transform(const float *weight, long outputs, long inputs,
                                              long first_row, long row_count, int flip_transpose,
                                              float *transformed, kandinsky_kernel_variant variant) {
    KANDINSKY_DISPATCH(variant, weight_transform, weight, outputs, inputs, first_row, row_count, flip_transpose,
                       transformed);
}

#include "conv3x3_weight_gradient.h"
#include "kernel_support.h"

#include <stdint.h>

// As in direct_conv3x3.c, the body is an always-inline function written with 8-wide vectors
// (kernel_support.h) and instantiated once per variant.

enum { LANES = 8 };

/// Pixels per chunk: up to 2048, and fewer when the chunk's transposed input and ∂y,
/// (⌈inputs⌉₈ + outputs) floats per pixel, would exceed 512 KiB, the L2 of a Zen 3 core, over
/// which all blocks of output channels pass. Each block's working set (3 rows of ∂y and one
/// 8-channel slice of the input, 44 bytes per pixel) streams through L1. Measured on the layers
/// of a UNet of 16 channels, chunks of up to 2048 pixels ran up to 10 % faster than chunks of
/// up to 512 (fewer rows transposed twice, fewer flushes of the accumulators).
static long chunk_pixels(long outputs, long inputs, long pixels) {
    const long budget = 128 * 1024, longest = 2048;
    const long padded_inputs = (inputs + LANES - 1) / LANES * LANES;
    long chunk = budget / (padded_inputs + outputs);
    if (chunk > longest) chunk = longest;
    if (chunk < 1) chunk = 1;
    // Chunks of equal length, so that no short last chunk pays for the transposed rows beyond it.
    const long chunks = (pixels + chunk - 1) / chunk;
    return (pixels + chunks - 1) / chunks;
}

long kandinsky_conv3x3_weight_gradient_scratch_size(long outputs, long inputs, long padded_width, long pixels) {
    const long padded_inputs = (inputs + LANES - 1) / LANES * LANES;
    // One extra vector to align the start to 32 bytes.
    return padded_inputs * (chunk_pixels(outputs, inputs, pixels) + 2 * padded_width + 2) + LANES;
}

/// The transpose of the 8 × 8 block rows[c][k]: columns[k][c] = rows[c][k], by the usual
/// three rounds of shuffles (pairs of floats, pairs of pairs, then 128-bit halves).
#define TRANSPOSE8(rows, columns)                                                                            \
    do {                                                                                                     \
        float8 t[8], h[8];                                                                                     \
        for (int i = 0; i < 8; i += 2) {                                                                     \
            t[i] = __builtin_shufflevector(rows[i], rows[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);                   \
            t[i + 1] = __builtin_shufflevector(rows[i], rows[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);             \
        }                                                                                                    \
        for (int i = 0; i < 8; i += 4) {                                                                     \
            for (int j = 0; j < 2; j++) {                                                                    \
                h[i + 2 * j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);     \
                h[i + 2 * j + 1] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15); \
            }                                                                                                \
        }                                                                                                    \
        for (int k = 0; k < 4; k++) {                                                                        \
            columns[k] = __builtin_shufflevector(h[k], h[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);                  \
            columns[k + 4] = __builtin_shufflevector(h[k], h[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);            \
        }                                                                                                    \
    } while (0)

/// transposed[b, r, k] = padded[(8b + k)·plane + first + r] for r < rows, zero for channels
/// 8b + k ≥ inputs: 8 × 8 blocks through registers, then the last rows % 8 one by one.
KANDINSKY_INLINE void transpose_chunk(const float *restrict padded, long inputs, long plane, long first, long rows,
                                      float *restrict transposed) {
    const long blocks = (inputs + LANES - 1) / LANES;
    for (long b = 0; b < blocks; b++) {
        float *restrict slice = transposed + b * rows * LANES;
        const float *restrict x = padded + b * LANES * plane + first;
        const long lanes = inputs - b * LANES < LANES ? inputs - b * LANES : LANES;
        long r = 0;
        for (; r + 8 <= rows; r += 8) {
            float8 channels[8], pixels[8];
            for (int k = 0; k < 8; k++) channels[k] = k < lanes ? LOAD8(x + k * plane + r) : (float8){0};
            TRANSPOSE8(channels, pixels);
            for (int k = 0; k < 8; k++) STORE8(slice + (r + k) * LANES, pixels[k]);
        }
        for (; r < rows; r++) {
            for (int k = 0; k < LANES; k++) slice[r * LANES + k] = k < lanes ? x[k * plane + r] : 0;
        }
    }
}

/// Taps (u, 0 ..< 3) of `block_outputs` output channels × one 8-channel input slice over one
/// chunk of `length` pixels: `gradient` is ∂y of the first channel at the chunk's first pixel,
/// `rows` the slice's transposed rows from row u·padded_width of the chunk, `taps` the gradient
/// of tap (u, 0) at the block's first output and input channel; `lanes` of the 8 input
/// channels exist.
KANDINSKY_INLINE void accumulate_block(const float *restrict gradient, long plane, const float *restrict rows,
                                       long length, float *restrict taps, long tap_stride, long inputs, long lanes,
                                       const int block_outputs) {
    float8 acc[3][3];
    for (int b = 0; b < block_outputs; b++) {
        for (int v = 0; v < 3; v++) acc[b][v] = (float8){0};
    }
    // Rows p, p + 1 and p + 2 are the input pixels that taps v = 0, 1, 2 pair with pixel p; row
    // p is then dead and row p + 3 takes its register, a rotation that unrolling by 3 names
    // statically. A block of 3 channels keeps 9 accumulators, 3 rows and a broadcast in 13 of
    // the 16 vector registers; blocks of 4 channels would need all 16, and the compiler then
    // spills an accumulator, which measured at half the speed.
#define KANDINSKY_PIXEL(p, row0, row1, row2)                              \
    do {                                                                  \
        for (int b = 0; b < block_outputs; b++) {                         \
            const float scalar = gradient[b * plane + (p)];               \
            const float8 g = SPLAT8(scalar);                                \
            acc[b][0] += g * row0;                                        \
            acc[b][1] += g * row1;                                        \
            acc[b][2] += g * row2;                                        \
        }                                                                 \
        row0 = LOAD8(rows + ((p) + 3) * LANES);                           \
    } while (0)
    float8 x0 = LOAD8(rows), x1 = LOAD8(rows + LANES), x2 = LOAD8(rows + 2 * LANES);
    long p = 0;
    // Row p + 3 exists for every p < length: the chunk has 2·padded_width + 2 rows beyond its pixels.
    for (; p + 3 <= length; p += 3) {
        KANDINSKY_PIXEL(p, x0, x1, x2);
        KANDINSKY_PIXEL(p + 1, x1, x2, x0);
        KANDINSKY_PIXEL(p + 2, x2, x0, x1);
    }
    if (p < length) KANDINSKY_PIXEL(p, x0, x1, x2);
    if (p + 1 < length) KANDINSKY_PIXEL(p + 1, x1, x2, x0);
#undef KANDINSKY_PIXEL
    for (int b = 0; b < block_outputs; b++) {
        for (int v = 0; v < 3; v++) {
            float *restrict sums = taps + v * tap_stride + b * inputs;
            if (lanes == LANES) {
                STORE8(sums, LOAD8(sums) + acc[b][v]);
            } else {
                for (long k = 0; k < lanes; k++) sums[k] += acc[b][v][k];
            }
        }
    }
}

/// Taps (u, 0 ..< 3) for u < 3 of output channels o ..< o + block_outputs and one 8-channel
/// input slice over a chunk; the block's rows of ∂y stay in L1 over the three kernel rows.
KANDINSKY_INLINE void accumulate_rows(const float *window, long o, long plane, long first, const float *slice,
                                      long padded_width, long length, float *taps, long tap_stride, long inputs,
                                      long lanes, const int block_outputs) {
    for (long u = 0; u < 3; u++) {
        accumulate_block(window + o * plane + first, plane, slice + u * padded_width * LANES, length,
                         taps + 3 * u * tap_stride + o * inputs, tap_stride, inputs, lanes, block_outputs);
    }
}

KANDINSKY_INLINE void weight_gradient(const float *window, long outputs, const float *padded, long inputs,
                                      long padded_width, long plane, long pixels, float *taps, float *scratch) {
    const long chunk = chunk_pixels(outputs, inputs, pixels), blocks = (inputs + LANES - 1) / LANES;
    const long tap_stride = outputs * inputs;
    // Blocks of 3 output channels; a remainder of 1 becomes two blocks of 2, whose 6
    // accumulators hide the FMA latency better than the 3 of a single channel.
    const long pairs = outputs % 3 == 2 ? 1 : outputs % 3 == 1 && outputs > 1 ? 2 : 0;
    const long triples = (outputs - 2 * pairs) / 3;
    float *transposed = (float *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31);
    for (long first = 0; first < pixels; first += chunk) {
        const long length = pixels - first < chunk ? pixels - first : chunk;
        const long rows = length + 2 * padded_width + 2;
        transpose_chunk(padded, inputs, plane, first, rows, transposed);
        for (long b = 0; b < blocks; b++) {
            const long lanes = inputs - b * LANES < LANES ? inputs - b * LANES : LANES;
            const float *slice = transposed + b * rows * LANES;
            float *slice_taps = taps + b * LANES;
            long o = 0;
            for (long t = 0; t < triples; t++, o += 3) {
                accumulate_rows(window, o, plane, first, slice, padded_width, length, slice_taps, tap_stride, inputs,
                                lanes, 3);
            }
            for (long t = 0; t < pairs; t++, o += 2) {
                accumulate_rows(window, o, plane, first, slice, padded_width, length, slice_taps, tap_stride, inputs,
                                lanes, 2);
            }
            if (o < outputs) {
                accumulate_rows(window, o, plane, first, slice, padded_width, length, slice_taps, tap_stride, inputs,
                                lanes, 1);
            }
        }
    }
}

static void weight_gradient_baseline(const float *window, long outputs, const float *padded, long inputs,
                                     long padded_width, long plane, long pixels, float *taps, float *scratch) {
    weight_gradient(window, outputs, padded, inputs, padded_width, plane, pixels, taps, scratch);
}

#if KANDINSKY_HAS_AVX2_VARIANT
KANDINSKY_AVX2 static void weight_gradient_avx2(const float *window, long outputs, const float *padded, long inputs,
                                                long padded_width, long plane, long pixels, float *taps,
                                                float *scratch) {
    weight_gradient(window, outputs, padded, inputs, padded_width, plane, pixels, taps, scratch);
}
#endif

void kandinsky_conv3x3_weight_gradient(const float *window, long outputs, const float *padded, long inputs,
                                       long padded_width, long padded_plane, long pixels,
                                       float *taps_gradient, float *scratch, kandinsky_kernel_variant variant) {
    KANDINSKY_DISPATCH(variant, weight_gradient, window, outputs, padded, inputs, padded_width, padded_plane, pixels,
                       taps_gradient, scratch);
}

#include "direct_conv3x3.h"
#include "kernel_support.h"

// The body is an always-inline function written with 8-wide vectors (kernel_support.h) and
// instantiated once per variant.

/// `block_outputs` output channels × `vectors` · 8 columns of one row, all in registers (at
/// most 12 accumulators, so that with the inputs and a broadcast weight they fit the 16 ymm
/// registers).
KANDINSKY_INLINE void block(const float *restrict row, long inputs, long padded_width, long padded_plane,
                            const float *restrict taps, const float *restrict bias, long outputs, long o,
                            float *restrict y, long output_plane, const int block_outputs, const int vectors) {
    float8 acc[12][2];
    for (int b = 0; b < block_outputs; b++) {
        const float start = bias ? bias[o + b] : 0.0f;
        for (int k = 0; k < vectors; k++) acc[b][k] = SPLAT8(start);
    }
    for (int tap = 0; tap < 9; tap++) {
        const float *restrict x = row + (tap / 3) * padded_width + tap % 3;
        const float *restrict w = taps + (tap * outputs + o) * inputs;
        for (long c = 0; c < inputs; c++, x += padded_plane) {
            float8 in[2];
            for (int k = 0; k < vectors; k++) in[k] = LOAD8(x + 8 * k);
            for (int b = 0; b < block_outputs; b++) {
                const float scalar = w[b * inputs + c];
                const float8 weight = SPLAT8(scalar);
                for (int k = 0; k < vectors; k++) acc[b][k] += weight * in[k];
            }
        }
    }
    for (int b = 0; b < block_outputs; b++) {
        for (int k = 0; k < vectors; k++) STORE8(y + b * output_plane + 8 * k, acc[b][k]);
    }
}

/// One column of `block_outputs` channels, for widths that are not a multiple of 8.
KANDINSKY_INLINE void column(const float *restrict row, long inputs, long padded_width, long padded_plane,
                             const float *restrict taps, const float *restrict bias, long outputs, long o,
                             float *restrict y, long output_plane, const int block_outputs) {
    float acc[4];
    for (int b = 0; b < block_outputs; b++) acc[b] = bias ? bias[o + b] : 0.0f;
    for (int tap = 0; tap < 9; tap++) {
        const float *restrict x = row + (tap / 3) * padded_width + tap % 3;
        const float *restrict w = taps + (tap * outputs + o) * inputs;
        for (long c = 0; c < inputs; c++) {
            const float in = x[c * padded_plane];
            for (int b = 0; b < block_outputs; b++) acc[b] += w[b * inputs + c] * in;
        }
    }
    for (int b = 0; b < block_outputs; b++) y[b * output_plane] = acc[b];
}

/// Columns j ..< j + 8·vectors (or the single column j when `vectors` is 0) of one row, for
/// output channels `first ..< end`: the block's inputs, 3 rows × Cin × (8·vectors + 2) floats,
/// stay in L1 while the channel blocks reuse them. With one vector the first `wide_blocks`
/// blocks hold 12 channels (`wide_block_count`); then come blocks of 4 and single channels.
KANDINSKY_INLINE void columns(const float *restrict row, long inputs, long padded_width, long padded_plane,
                              const float *restrict taps, const float *restrict bias, long outputs, long first,
                              long end, float *restrict out, long output_plane, const int vectors, long wide_blocks) {
    long o = first;
    if (vectors == 1) {
        for (; o < first + 12 * wide_blocks; o += 12) {
            block(row, inputs, padded_width, padded_plane, taps, bias, outputs, o, out + o * output_plane,
                  output_plane, 12, 1);
        }
    }
    for (; o + 4 <= end; o += 4) {
        if (vectors) block(row, inputs, padded_width, padded_plane, taps, bias, outputs, o, out + o * output_plane,
                           output_plane, 4, vectors);
        else column(row, inputs, padded_width, padded_plane, taps, bias, outputs, o, out + o * output_plane,
                    output_plane, 4);
    }
    for (; o < end; o++) {
        if (vectors) block(row, inputs, padded_width, padded_plane, taps, bias, outputs, o, out + o * output_plane,
                           output_plane, 1, vectors);
        else column(row, inputs, padded_width, padded_plane, taps, bias, outputs, o, out + o * output_plane,
                    output_plane, 1);
    }
}

/// How many blocks of 12 channels × 1 vector precede the blocks of 4: the most that leave the
/// fewest single channels. An FMA's result is ready about 4 cycles after it issues and two issue
/// per cycle, so at least 8 independent sums keep the FMA units busy; a block of 4 channels × 1
/// vector has only 4, and on the 8-column rows of a UNet's deepest level 12-channel blocks ran
/// about 1.2× as fast (single-threaded, 128 × 128 channels at 6 × 8 pixels). Blocks of 4 × 2
/// vectors already have 8 sums: blocks of 6 × 2 measured no faster.
static long wide_block_count(long outputs) {
    long best = 0, fewest_singles = 4;
    for (long blocks = outputs / 12; blocks >= 0; blocks--) {
        const long singles = (outputs - 12 * blocks) % 4;
        if (singles < fewest_singles) {
            fewest_singles = singles;
            best = blocks;
        }
    }
    return best;
}

/// Output channels per group: the rows are swept once per group, so that the group's taps,
/// 9 · group · Cin floats, stay in L1 or L2 while its blocks pass over the image. Sweeping all
/// channels at once reads all taps for every 16 columns, from L3 once they outgrow L2
/// (128 × 128 channels: 576 KiB). Single-threaded, groups ran 128 × 128 channels at 12 × 16
/// and 6 × 8 pixels 1.05 to 1.3× as fast, and smaller layers, whose taps fit in one group, as
/// before. At least 12 channels (a wide block), a multiple of 4 (whole blocks).
static long channel_group(long inputs) {
    const long budget = 8192;  // floats of taps: 32 KiB
    const long fitting = budget / (9 * inputs) / 4 * 4;
    return fitting > 12 ? fitting : 12;
}

KANDINSKY_INLINE void direct_conv3x3_rows(const float *padded, long inputs, long padded_width, long padded_plane,
                                          const float *taps, const float *bias, long outputs,
                                          long rows, long width, float *y, long output_plane) {
    const long group = channel_group(inputs);
    for (long first = 0; first < outputs; first += group) {
        const long end = first + group < outputs ? first + group : outputs;
        const long wide_blocks = wide_block_count(end - first);
        for (long r = 0; r < rows; r++) {
            const float *row = padded + r * padded_width;
            float *out = y + r * width;
            long j = 0;
            for (; j + 16 <= width; j += 16) {
                columns(row + j, inputs, padded_width, padded_plane, taps, bias, outputs, first, end, out + j,
                        output_plane, 2, 0);
            }
            for (; j + 8 <= width; j += 8) {
                columns(row + j, inputs, padded_width, padded_plane, taps, bias, outputs, first, end, out + j,
                        output_plane, 1, wide_blocks);
            }
            // The last partial vector: the 8 columns ending at the row's end, recomputing a few
            // (each column's sum is the same in every block, so they are rewritten unchanged).
            if (j < width && width >= 8) {
                columns(row + width - 8, inputs, padded_width, padded_plane, taps, bias, outputs, first, end,
                        out + width - 8, output_plane, 1, wide_blocks);
                j = width;
            }
            for (; j < width; j++) {
                columns(row + j, inputs, padded_width, padded_plane, taps, bias, outputs, first, end, out + j,
                        output_plane, 0, 0);
            }
        }
    }
}

static void direct_conv3x3_rows_baseline(const float *padded, long inputs, long padded_width, long padded_plane,
                                         const float *taps, const float *bias, long outputs,
                                         long rows, long width, float *y, long output_plane) {
    direct_conv3x3_rows(padded, inputs, padded_width, padded_plane, taps, bias, outputs, rows, width, y, output_plane);
}

#if KANDINSKY_HAS_AVX2_VARIANT
KANDINSKY_AVX2 static void direct_conv3x3_rows_avx2(const float *padded, long inputs, long padded_width,
                                                    long padded_plane, const float *taps, const float *bias,
                                                    long outputs, long rows, long width, float *y,
                                                    long output_plane) {
    direct_conv3x3_rows(padded, inputs, padded_width, padded_plane, taps, bias, outputs, rows, width, y, output_plane);
}
#endif

void kandinsky_direct_conv3x3_rows(const float *padded, long inputs, long padded_width, long padded_plane,
                                   const float *taps, const float *bias, long outputs,
                                   long rows, long width, float *y, long output_plane,
                                   kandinsky_kernel_variant variant) {
    KANDINSKY_DISPATCH(variant, direct_conv3x3_rows, padded, inputs, padded_width, padded_plane, taps, bias,
                       outputs, rows, width, y, output_plane);
}

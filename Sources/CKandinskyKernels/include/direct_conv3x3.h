#ifndef KANDINSKY_DIRECT_CONV3X3_H
#define KANDINSKY_DIRECT_CONV3X3_H

#include "kernel_variant.h"

/// Direct 3 × 3 convolution over rows of a zero-padded image, for layers with few channels,
/// where a GEMM per kernel tap (k = Cin) spends more time packing operands and streaming the
/// output through memory than multiplying.
///
/// For output channels o < outputs, rows r < rows and columns j < width:
///
///     y[o·output_plane + r·width + j] = bias[o]
///         + Σ_{u,v < 3} Σ_{c < inputs} taps[((3u + v)·outputs + o)·inputs + c]
///                                      · padded[c·padded_plane + (r + u)·padded_width + j + v]
///
/// with bias[o] read as 0 when `bias` is NULL. `padded` points at the top-left corner of the
/// window of output row 0 (row `first` of a padded image [inputs, H + 2, W + 2] starts at
/// `first · padded_width`); the reads stay within columns 0 ..< width + 2 of rows 0 ..< rows + 2.
///
/// The same kernel computes ∂x of a 3 × 3 convolution with padding 1: a padded ∂y convolved with
/// the weights rotated by 180° and with input and output channels swapped.
///
/// Accumulators for 4 output channels × 16 columns (12 channels × 8 columns in 8-column
/// blocks) stay in registers over all 9·inputs terms, so each output is written once; the rows
/// are swept once per group of output channels (those whose taps fit in 32 KiB, at least 12).
/// The sum runs in the same order (taps, then channels) in both variants; only FMA contraction
/// may differ.
///
/// - Complexity: 18 · outputs · inputs · rows · width flops.
void kandinsky_direct_conv3x3_rows(const float *padded, long inputs, long padded_width, long padded_plane,
                                   const float *taps, const float *bias, long outputs,
                                   long rows, long width, float *y, long output_plane,
                                   kandinsky_kernel_variant variant);

#endif

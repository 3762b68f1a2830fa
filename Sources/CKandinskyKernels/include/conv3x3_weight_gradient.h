#ifndef KANDINSKY_CONV3X3_WEIGHT_GRADIENT_H
#define KANDINSKY_CONV3X3_WEIGHT_GRADIENT_H

#include "kernel_variant.h"

/// ∂W of a 3 × 3 convolution over one zero-padded image, for layers with few channels, where
/// nine GEMMs (one per tap, k = pixels) spend much of their time packing both operands again
/// for every tap.
///
/// For taps (u, v) < (3, 3), output channels o < outputs and input channels c < inputs:
///
///     taps_gradient[((3u + v)·outputs + o)·inputs + c] +=
///         Σ_{p < pixels} window[o·padded_plane + p] · padded[c·padded_plane + p + u·padded_width + v]
///
/// `padded` is an image [inputs, H + 2, W + 2] (row stride padded_width = W + 2, plane
/// padded_plane) and `window` the padded ∂y seen from its pixel (1, 1), so that with
/// pixels = H·padded_width, p = i·padded_width + j is ∂y[i, j] for j < W and zero for the two
/// border columns. Reads window[o·padded_plane + p] for p < pixels and
/// padded[c·padded_plane + q] for q < pixels + 2·padded_width + 2.
///
/// The pixels are cut into chunks; each chunk of the input is transposed once into `scratch`
/// as [⌈inputs / 8⌉, rows, 8] (rows = chunk + 2·padded_width + 2), which serves all nine taps,
/// whose shifts are then whole rows. An outer-product block of 3 output channels × 8 input
/// channels × the three taps v = 0, 1, 2 of one kernel row keeps 9 vector accumulators over a
/// chunk: per pixel it broadcasts 3 values of ∂y and loads one new row of the transposed input
/// (rows p + 1 and p + 2 of the previous pixel are p and p + 1 of this one) for 9 FMAs. Each
/// chunk's sums are added to `taps_gradient` in chunk order, the same order in both variants
/// (only FMA contraction may differ) and for any thread count.
///
/// - Complexity: 18 · outputs · inputs · pixels flops, plus a transposition of
///   inputs · (pixels + chunks · (2·padded_width + 2)) floats.
void kandinsky_conv3x3_weight_gradient(const float *window, long outputs, const float *padded, long inputs,
                                       long padded_width, long padded_plane, long pixels,
                                       float *taps_gradient, float *scratch, kandinsky_kernel_variant variant);

/// Floats of `scratch` that `kandinsky_conv3x3_weight_gradient` needs for these sizes.
long kandinsky_conv3x3_weight_gradient_scratch_size(long outputs, long inputs, long padded_width, long pixels);

#endif

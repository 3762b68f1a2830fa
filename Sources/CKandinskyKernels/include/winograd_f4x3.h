#ifndef KANDINSKY_WINOGRAD_F4X3_H
#define KANDINSKY_WINOGRAD_F4X3_H

#include "kernel_variant.h"

/// Winograd F(4 × 4, 3 × 3) transforms for 3 × 3 convolutions with padding 1 (Lavin & Gray,
/// interpolation points 0, ±1, ±2, ∞).
///
/// Each output tile of 4 × 4 pixels is computed from a 6 × 6 input tile d as Aᵀ [(G g Gᵀ) ⊙
/// (Bᵀ d B)] A, so the 144 multiplications of a direct tile become 36 element-wise products,
/// which summed over channels are 36 matrix products [Cout, Cin] · [Cin, tiles] done by a GEMM.
///
/// Layouts (row-major, floats): images [N, C, H, W]; the transformed domain of a block of tiles
/// is [36, C, T] with ξ = 6·k + l the point of the 6 × 6 tile and T the block's tile count. A
/// block is a run of `tile_row_count` consecutive tile rows counted across the batch (global
/// tile row r lies in image r / ⌈H/4⌉ at tile row r mod ⌈H/4⌉), each row of ⌈W/4⌉ tiles, so
/// T = tile_row_count · ⌈W/4⌉ and tile t of the block is (row t / ⌈W/4⌉, column t mod ⌈W/4⌉).
/// Pixels outside the image read as zero (the padding) and outputs outside it are dropped, so
/// H and W need not be multiples of 4.
///
/// Every kernel exists twice, compiled for each `kandinsky_kernel_variant`.

/// Floats of `workspace` the input and output transforms need for images `width` pixels wide.
long kandinsky_winograd_f4x3_workspace_count(long width);

/// transformed[ξ, c, t] = (Bᵀ d B)[ξ] for the 6 × 6 input tile d of channel c around tile t.
///
/// - Complexity: about 12 additions per transformed value, O(C · T · 36).
void kandinsky_winograd_f4x3_input_transform(const float *images, long channels, long height, long width,
                                             long first_tile_row, long tile_row_count,
                                             float *transformed, float *workspace, kandinsky_kernel_variant variant);

/// images[n, c, 4i + p, 4j + q] = bias[c] + (Aᵀ m A)[p, q] for the 6 × 6 transformed tile m of
/// channel c at tile (i, j); `bias` may be NULL (no bias). Writes only pixels inside the image.
///
/// - Complexity: O(C · T · 36).
void kandinsky_winograd_f4x3_output_transform(const float *transformed, const float *bias,
                                              long channels, long height, long width,
                                              long first_tile_row, long tile_row_count,
                                              float *images, float *workspace, kandinsky_kernel_variant variant);

/// transformed[ξ, o, c] = (G g Gᵀ)[ξ] with g = weight[o, c] (3 × 3), from weights
/// [outputs, inputs, 3, 3], for the rows o in first_row ..< first_row + row_count.
///
/// With `flip_transpose`, g is weight[o, c] rotated by 180° and the result is stored as
/// transformed[ξ, c, o], the kernel of the convolution that maps ∂output to ∂input; its rows
/// are then the input channels c in first_row ..< first_row + row_count.
///
/// - Complexity: O(row_count · (inputs or outputs) · 36).
void kandinsky_winograd_f4x3_weight_transform(const float *weight, long outputs, long inputs,
                                              long first_row, long row_count, int flip_transpose,
                                              float *transformed, kandinsky_kernel_variant variant);

#endif

import CKandinskyKernels
import KandinskyCore

// The kernels of the Winograd strategy of ``Conv2d`` (`Conv2d+Winograd.swift`):
// 3 × 3 convolutions with padding 1 through Winograd F(4 × 4, 3 × 3) (see
// `winograd_f4x3.h` in CKandinskyKernels for the transforms and layouts).
//
// The batch's tile rows are cut into blocks; each block's input tiles are transformed into
// [36, Cin, T], multiplied point by point with the transformed weights [36, Cout, Cin] by 36
// GEMMs into [36, Cout, T], and transformed back into the output. A GEMM then does 36 instead
// of 144 multiply-adds per channel pair and 4 × 4 pixels, 4× fewer than im2col or shifted
// windows, at the price of the transforms (O(Cin + Cout) per pixel) and of Float rounding a
// few times that of the direct sum (the transforms multiply by up to 8 and 1/24).

extension ConvolutionGeometry {
    var winogradTilesHigh: Int { (height + 3) / 4 }
    var winogradTilesWide: Int { (width + 3) / 4 }
    /// Tile rows of the whole batch, the unit that blocks are made of.
    var winogradTileRows: Int { images * winogradTilesHigh }
    /// Whether Winograd pays for this shape: images of at least 64 tiles (about 32 × 32 pixels).
    /// On smaller ones, measured against shifted windows in whole networks, transforming the
    /// weights and moving the transformed tiles through memory cost more than the saved
    /// multiplications, and partial tiles waste more of the arithmetic.
    var winogradPays: Bool {
        kernel == 3 && padding == 1 && winogradTilesHigh * winogradTilesWide >= 64
    }
    /// Tile rows per block. A GEMM repacks its [Cout, Cin] weights for every block, which costs
    /// about as much as multiplying them with 16 to 32 tiles, so blocks aim at 256 tiles (more
    /// when 64 Ki floats, about half a core's L2 cache, hold their transformed input and
    /// output), but no more than a thread's share of the batch while that is at least 64 tiles,
    /// and never more than the column budget holds. Several blocks are evened out so that they
    /// split equally over the threads; a single block splits its GEMMs over the threads.
    var winogradTileRowsPerBlock: Int {
        let tileFloats = 36 * (inputChannels + outputChannels)
        var tiles = max(256, (1 << 16) / tileFloats)
        let share = winogradTileRows * winogradTilesWide / threads
        if share >= 64 { tiles = min(tiles, share) }
        tiles = min(tiles, max(1, columnBudget / tileFloats))
        let tallest = min(winogradTileRows, max(1, tiles / winogradTilesWide))
        var blocks = (winogradTileRows + tallest - 1) / tallest
        if threads > 1 && blocks > 1 { blocks = min(winogradTileRows, (blocks + threads - 1) / threads * threads) }
        return (winogradTileRows + blocks - 1) / blocks
    }
    var winogradBlockCount: Int { (winogradTileRows + winogradTileRowsPerBlock - 1) / winogradTileRowsPerBlock }
    /// Floats of one thread's block buffers: transformed input, transformed output, workspace.
    var winogradBlockScratchCount: Int {
        36 * (inputChannels + outputChannels) * winogradTileRowsPerBlock * winogradTilesWide
            + kandinsky_winograd_f4x3_workspace_count(width)
    }
}

/// Writes the Winograd-domain weights [36, Cout, Cin] of `w` [Cout, Cin, 3, 3] into `transformed`,
/// or with `flipTransposed` those of the backward kernel, [36, Cin, Cout] from `w` rotated by 180°.
///
/// - Complexity: O(36·Cout·Cin), spread over the cores by rows of the result.
func transformWinogradWeights(
    _ w: UnsafePointer<Float>, outputs: Int, inputs: Int, flipTransposed: Bool,
    into transformed: UnsafeMutablePointer<Float>, variant: kandinsky_kernel_variant
) {
    parallelFor(0..<(flipTransposed ? inputs : outputs)) { range in
        ModelProfiler.measure(.im2col) {
            kandinsky_winograd_f4x3_weight_transform(
                w, outputs, inputs, range.lowerBound, range.count,
                flipTransposed ? 1 : 0, transformed, variant)
        }
    }
}

/// y = bias + x ⋆ w for a batch x [N, Cin, H, W] → y [N, Cout, H, W], given the transformed
/// weights [36, Cout, Cin] of ``transformWinogradWeights(_:outputs:inputs:flipTransposed:into:variant:)``;
/// a nil `bias` adds nothing.
///
/// Blocks are dealt to the workers round-robin; a single block instead splits its 36 GEMMs over
/// the workers. Every GEMM runs on one OpenBLAS thread: OpenBLAS's own threads would keep
/// spinning for work after a call and take the cores from the next layer's workers. No block's
/// result depends on another's, so the output is the same bytes for any thread timing.
///
/// - Complexity: 2·36·Cout·Cin·N·⌈H/4⌉·⌈W/4⌉ flops of GEMM, O((Cin + Cout)·N·H·W) of transforms.
func convolveWinograd(
    _ g: ConvolutionGeometry, x: UnsafePointer<Float>, transformedWeights: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    scratch: ConvolutionScratch, variant: kandinsky_kernel_variant
) {
    let threads = availableCoreCount
    let blocks = g.winogradBlockCount
    let rowsPerBlock = g.winogradTileRowsPerBlock
    let workers = min(threads, blocks)
    scratch.reserve(threads: workers, columnCount: g.winogradBlockScratchCount, partialCount: 0)
    setLinearAlgebraThreadCount(1)
    let cin = g.inputChannels
    let cout = g.outputChannels

    /// The GEMMs of the points `points` of a block of `tiles` tiles.
    func multiply(_ points: Range<Int>, tiles: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        ModelProfiler.measure(.convolutionGEMM) {
            for point in points {
                gemm(
                    transposeA: .none, transposeB: .none, m: cout, n: tiles, k: cin,
                    a: transformedWeights + point * cout * cin, lda: cin,
                    b: input + point * cin * tiles, ldb: tiles,
                    c: output + point * cout * tiles, ldc: tiles)
            }
        }
    }
    /// Transforms a block's input, multiplies it on all workers when `splitPoints`, on the
    /// calling one otherwise, and transforms the result back into y.
    func convolveBlock(_ block: Int, buffer: UnsafeMutablePointer<Float>, splitPoints: Bool) {
        let firstRow = block * rowsPerBlock
        let rows = min(rowsPerBlock, g.winogradTileRows - firstRow)
        let tiles = rows * g.winogradTilesWide
        let transformedInput = buffer
        let transformedOutput = buffer + 36 * cin * tiles
        let workspace = transformedOutput + 36 * cout * tiles
        ModelProfiler.measure(.im2col) {
            kandinsky_winograd_f4x3_input_transform(
                x, cin, g.height, g.width, firstRow, rows,
                transformedInput, workspace, variant)
        }
        if splitPoints {
            parallelFor(0..<36, chunkCount: threads) { points in
                multiply(points, tiles: tiles, input: transformedInput, output: transformedOutput)
            }
        } else {
            multiply(0..<36, tiles: tiles, input: transformedInput, output: transformedOutput)
        }
        ModelProfiler.measure(.im2col) {
            kandinsky_winograd_f4x3_output_transform(
                transformedOutput, bias, cout, g.height, g.width,
                firstRow, rows, y, workspace, variant)
        }
    }

    if blocks == 1 {
        convolveBlock(0, buffer: scratch.columns(thread: 0), splitPoints: true)
        return
    }
    parallelForEach(0..<blocks, workers: workers) { block, thread in
        convolveBlock(block, buffer: scratch.columns(thread: thread), splitPoints: false)
    }
}

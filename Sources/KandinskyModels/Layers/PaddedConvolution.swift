import CKandinskyKernels
import KandinskyCore

// The kernels of the shifted-window strategy of ``Conv2d`` (`Conv2d+ShiftedWindows.swift`):
// 3 × 3 convolutions with padding 1 and many input channels, without im2col.
//
// The input is copied once into a zero-padded [Cin, H + 2, W + 2] image. From that copy, the
// forward pass is a ``PaddedConvolution``: for few channels a direct convolution
// (`direct_conv3x3.h` in CKandinskyKernels) that keeps a block of outputs in registers over all
// 9·Cin terms, for many channels nine GEMMs over shifted windows. In the padded layout, output
// pixels laid out with the padded row stride W + 2 read each kernel tap (u, v) of the input
// from one contiguous window shifted by u·(W + 2) + v. The backward pass pads ∂y the same way;
// the two extra columns per row of ∂y are then its zero border, so ∂W per image is, for each
// tap, a product [Cout, HW'] · [HW', Cin] (HW' = H·(W + 2)) with no junk columns to clear: for
// few channels one direct kernel for all nine (`conv3x3_weight_gradient.h`), for many channels
// nine GEMMs. ∂x is the PaddedConvolution of the padded ∂y with the weights rotated by 180° and
// transposed.

extension ConvolutionGeometry {
    var paddedWidth: Int { width + 2 }
    var paddedPlane: Int { (height + 2) * paddedWidth }
    /// One padded image, with two zero floats after it that the shifted windows of the last
    /// row may read.
    var paddedImageSize: Int { inputChannels * paddedPlane + 2 }
    /// One padded ∂y image, laid out as ``paddedImageSize`` with Cout channels.
    var paddedOutputImageSize: Int { outputChannels * paddedPlane + 2 }
    /// Output rows per band: as many as a band of Cout rows (``PaddedConvolution``'s GEMM
    /// route) fits in the column budget, evened out over the threads.
    var rowsPerBand: Int {
        let tallest = min(height, max(1, columnBudget / (outputChannels * paddedWidth)))
        let bands = balancedCount((height + tallest - 1) / tallest, limit: height)
        return (height + bands - 1) / bands
    }
    var bandCount: Int { (height + rowsPerBand - 1) / rowsPerBand }
    /// Whether ∂W runs the direct kernel (`conv3x3_weight_gradient.h`) rather than nine GEMMs,
    /// the same channel range as the direct forward kernel: there OpenBLAS repacks both of its
    /// operands for each of the nine taps, which costs about as much as the multiplications when
    /// the channels are few, while the kernel transposes the input once for all taps. Measured
    /// single-threaded on the layers of a UNet of 16 channels (16 → 16 at 96 × 128 up to
    /// 128 × 128 channels at 6 × 8 pixels), the kernel ran 1.0 to 2.5× as fast as the GEMMs
    /// (the gain shrinking with more channels and fewer pixels); at 256 × 256 channels it reached
    /// 0.8× of their speed, at 512 × 512 a third, its chunks then too short for L2.
    var computesWeightGradientDirectly: Bool {
        PaddedConvolution.runsDirect(inputs: inputChannels, outputs: outputChannels)
    }
    /// Floats of per-thread scratch of the direct ∂W kernel (its transposed input chunk), 0 for the GEMMs.
    var weightGradientScratchSize: Int {
        guard computesWeightGradientDirectly else { return 0 }
        return kandinsky_conv3x3_weight_gradient_scratch_size(
            outputChannels, inputChannels, paddedWidth,
            height * paddedWidth)
    }
}

/// Copies one image [C, H, W] into its zero-padded form [C, H + 2, W + 2] (plus two zeros).
/// Only the border is zeroed, so each float is written once.
func padImage(_ g: ConvolutionGeometry, channels: Int, x: UnsafePointer<Float>, padded: UnsafeMutablePointer<Float>) {
    let w = g.width
    let h = g.height
    let wp = g.paddedWidth
    for c in 0..<channels {
        let plane = padded + c * g.paddedPlane
        // The top row and the left border of the first row.
        plane.update(repeating: 0, count: wp + 1)
        for i in 1...h {
            (plane + i * wp + 1).update(from: x + (c * h + i - 1) * w, count: w)
            // The right border of row i and the left border of row i + 1.
            (plane + i * wp + w + 1).update(repeating: 0, count: 2)
        }
        // The rest of the bottom row.
        (plane + (h + 1) * wp + 1).update(repeating: 0, count: wp - 1)
    }
    (padded + channels * g.paddedPlane).update(repeating: 0, count: 2)
}

/// taps[u·3 + v, o, c] = w[o, c, u, v], the forward kernel of ``PaddedConvolution``; with
/// `flipTransposed`, taps[u·3 + v, c, o] = w[o, c, 2 − u, 2 − v], the kernel that maps the
/// padded ∂y to ∂x.
func rearrangeTaps(
    _ g: ConvolutionGeometry, w: UnsafePointer<Float>, flipTransposed: Bool,
    taps: UnsafeMutablePointer<Float>
) {
    let cin = g.inputChannels
    let cout = g.outputChannels
    for tap in 0..<9 {
        for o in 0..<cout {
            for c in 0..<cin {
                let weight = w[(o * cin + c) * 9 + tap]
                if flipTransposed {
                    taps[((8 - tap) * cin + c) * cout + o] = weight
                } else {
                    taps[(tap * cout + o) * cin + c] = weight
                }
            }
        }
    }
}

/// One 3 × 3 convolution over rows of a padded image, either direct or by GEMMs; the forward
/// pass and ∂x are both such convolutions, with their own channel counts and taps.
struct PaddedConvolution {
    /// Channels of the padded image read and of the rows written.
    let inputs, outputs: Int
    /// [9, outputs, inputs] (``rearrangeTaps(_:w:flipTransposed:taps:)``).
    let taps: UnsafePointer<Float>
    /// [outputs], or nil for no bias.
    let bias: UnsafePointer<Float>?
    let variant: kandinsky_kernel_variant

    /// Whether the direct kernel runs: it keeps its outputs in registers, so it wins while a
    /// 16-column block's inputs (3 rows × Cin × 18 floats) stay in L1 and C2 = Cin·Cout is small.
    /// Beyond 128 × 128 channels, measured at 15 × 20 pixels, it reached about half of the
    /// GFLOP/s of OpenBLAS, whose packed GEMMs then pay for their packing.
    static func runsDirect(inputs: Int, outputs: Int) -> Bool { inputs * outputs <= 128 * 128 }
    var isDirect: Bool { Self.runsDirect(inputs: inputs, outputs: outputs) }

    /// Floats of band scratch ``convolve(_:padded:y:firstRow:rows:band:)`` needs for `rows` rows.
    func bandSize(_ g: ConvolutionGeometry, rows: Int) -> Int { isDirect ? 0 : outputs * rows * g.paddedWidth }

    /// Rows `firstRow ..< firstRow + rows` of y [outputs, H, W] from the padded image [inputs, H + 2, W + 2]:
    /// y[o, i, j] = bias[o] + Σ_{u,v,c} taps[3u + v, o, c] · padded[c, i + u, j + v].
    ///
    /// The GEMM route computes a band of rows laid out with the padded row stride W + 2, in which
    /// tap (u, v) reads one contiguous window shifted by u·(W + 2) + v: nine GEMMs
    /// [outputs, inputs] · [inputs, band] with k = inputs, then drops the two junk columns per row.
    func convolve(
        _ g: ConvolutionGeometry, padded: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        firstRow: Int, rows: Int, band: UnsafeMutablePointer<Float>
    ) {
        let wp = g.paddedWidth
        let h = g.height
        let w = g.width
        if isDirect {
            kandinsky_direct_conv3x3_rows(
                padded + firstRow * wp, inputs, wp, g.paddedPlane, taps, bias, outputs,
                rows, w, y + firstRow * w, h * w, variant)
            return
        }
        let count = rows * wp
        let start = firstRow * wp
        for o in 0..<outputs { (band + o * count).initialize(repeating: bias?[o] ?? 0, count: count) }
        for tap in 0..<9 {
            gemm(
                transposeA: .none, transposeB: .none, m: outputs, n: count, k: inputs,
                a: taps + tap * outputs * inputs, lda: inputs,
                b: padded + start + (tap / 3) * wp + tap % 3, ldb: g.paddedPlane,
                beta: 1, c: band, ldc: count)
        }
        for o in 0..<outputs {
            for r in 0..<rows {
                (y + (o * h + firstRow + r) * w).update(from: band + o * count + r * wp, count: w)
            }
        }
    }
}

/// ∂x in
/// ``backpropagateImageShifted(_:padded:dy:dTaps:db:paddedGradient:weightGradientScratch:variant:inputGradient:)``:
/// the convolution of the padded ∂y with the weights rotated by 180° and transposed.
struct ShiftedInputGradient {
    /// Cout → Cin with taps [9, Cin, Cout] (``rearrangeTaps(_:w:flipTransposed:taps:)``), no bias.
    let convolution: PaddedConvolution
    /// ∂x of the image, [Cin, H, W].
    let dx: UnsafeMutablePointer<Float>
    /// ``PaddedConvolution/bandSize(_:rows:)`` floats for ``rowsPerBand`` rows.
    let band: UnsafeMutablePointer<Float>
    /// Rows per GEMM band, bounded by the column budget.
    let rowsPerBand: Int
}

/// Accumulates ∂taps ([9, Cout, Cin]) and ∂b for one image, and writes its ∂x when
/// `inputGradient` is given; `paddedGradient` is scratch of ``ConvolutionGeometry/paddedOutputImageSize``
/// floats, `weightGradientScratch` of ``ConvolutionGeometry/weightGradientScratchSize``.
///
/// ∂taps[3u + v, o, c] += Σ_{p < H·wp} window[o, p] · padded[c, p + u·wp + v], where the window
/// of the padded ∂y starts at its pixel (1, 1) (wp = W + 2): its two extra columns per row are
/// the zero border, so the sum needs no junk columns cleared.
func backpropagateImageShifted(
    _ g: ConvolutionGeometry, padded: UnsafePointer<Float>, dy: UnsafePointer<Float>,
    dTaps: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
    paddedGradient: UnsafeMutablePointer<Float>,
    weightGradientScratch: UnsafeMutablePointer<Float>,
    variant: kandinsky_kernel_variant,
    inputGradient: ShiftedInputGradient?
) {
    let h = g.height
    let w = g.width
    let wp = g.paddedWidth
    let cin = g.inputChannels
    let cout = g.outputChannels
    for o in 0..<cout {
        db[o] += Float(PlaneReduction.sum(dy + o * h * w, count: h * w))
    }
    ModelProfiler.measure(.im2col) { padImage(g, channels: cout, x: dy, padded: paddedGradient) }
    ModelProfiler.measure(.convolutionGEMM) {
        let window = UnsafePointer(paddedGradient + wp + 1)
        if g.computesWeightGradientDirectly {
            kandinsky_conv3x3_weight_gradient(
                window, cout, padded, cin, wp, g.paddedPlane, h * wp, dTaps,
                weightGradientScratch, variant)
        } else {
            for tap in 0..<9 {
                gemm(
                    transposeA: .none, transposeB: .transposed, m: cout, n: cin, k: h * wp,
                    a: window, lda: g.paddedPlane, b: padded + (tap / 3) * wp + tap % 3, ldb: g.paddedPlane,
                    beta: 1, c: dTaps + tap * cout * cin, ldc: cin)
            }
        }
        guard let inputGradient else { return }
        var firstRow = 0
        while firstRow < h {
            let rows = min(inputGradient.rowsPerBand, h - firstRow)
            inputGradient.convolution.convolve(
                g, padded: paddedGradient, y: inputGradient.dx, firstRow: firstRow,
                rows: rows, band: inputGradient.band)
            firstRow += rows
        }
    }
}

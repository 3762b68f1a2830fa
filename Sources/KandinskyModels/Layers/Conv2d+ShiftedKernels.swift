import KandinskyCore

// 3 × 3 convolutions with padding 1 and many input channels, without im2col.
//
// The input is copied once into a zero-padded [Cin, H + 2, W + 2] image. In that layout, the
// output pixels of a band of rows, laid out with the padded row stride W + 2 (two junk columns
// per row), read each kernel tap (u, v) from one contiguous window shifted by u·(W + 2) + v. So
// the convolution is nine GEMMs [Cout, Cin] · [Cin, band] accumulated into the band, with the
// taps' weights rearranged to [9, Cout, Cin]. The junk columns are dropped when the band is
// copied out (forward) and set to zero in the output gradient (backward), where they would
// otherwise leak into ∂W and ∂x. This moves 9× less memory than im2col and gives GEMMs with
// k = Cin, efficient when Cin is large.

extension ConvolutionGeometry {
    var paddedWidth: Int { width + 2 }
    var paddedPlane: Int { (height + 2) * paddedWidth }
    /// One padded image, with two zero floats after it that junk columns of the last row may read.
    var paddedImageSize: Int { inputChannels * paddedPlane + 2 }
    /// Output rows per band: as many as fit the column budget, evened out over the threads.
    var rowsPerBand: Int {
        let tallest = min(height, max(1, columnBudget / (outputChannels * paddedWidth)))
        let bands = balancedCount((height + tallest - 1) / tallest, limit: height)
        return (height + bands - 1) / bands
    }
    var bandCount: Int { (height + rowsPerBand - 1) / rowsPerBand }
}

/// Copies one image [Cin, H, W] into its zero-padded form.
func padImage(_ g: ConvolutionGeometry, x: UnsafePointer<Float>, padded: UnsafeMutablePointer<Float>) {
    let w = g.width, h = g.height, wp = g.paddedWidth
    padded.initialize(repeating: 0, count: g.paddedImageSize)
    for c in 0..<g.inputChannels {
        for i in 0..<h {
            (padded + c * g.paddedPlane + (i + 1) * wp + 1).update(from: x + (c * h + i) * w, count: w)
        }
    }
}

/// taps[u·3 + v, o, c] = w[o, c, u, v].
func rearrangeTaps(_ g: ConvolutionGeometry, w: UnsafePointer<Float>, taps: UnsafeMutablePointer<Float>) {
    let cin = g.inputChannels, cout = g.outputChannels
    for tap in 0..<9 {
        for o in 0..<cout {
            let row = taps + (tap * cout + o) * cin, source = w + o * cin * 9 + tap
            for c in 0..<cin { row[c] = source[c * 9] }
        }
    }
}

/// Output rows `firstRow ..< firstRow + rows` of one image.
func convolveBand(_ g: ConvolutionGeometry, padded: UnsafePointer<Float>, taps: UnsafePointer<Float>,
                  b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, firstRow: Int, rows: Int,
                  band: UnsafeMutablePointer<Float>) {
    let wp = g.paddedWidth, count = rows * wp, start = firstRow * wp
    let cin = g.inputChannels, cout = g.outputChannels
    for o in 0..<cout { (band + o * count).initialize(repeating: b[o], count: count) }
    ModelProfiler.measure(.convolutionGEMM) {
        for u in 0..<3 {
            for v in 0..<3 {
                gemm(transposeA: .none, transposeB: .none, m: cout, n: count, k: cin,
                     a: taps + (u * 3 + v) * cout * cin, lda: cin,
                     b: padded + start + u * wp + v, ldb: g.paddedPlane,
                     beta: 1, c: band, ldc: count)
            }
        }
    }
    let h = g.height, w = g.width
    for o in 0..<cout {
        for r in 0..<rows {
            (y + (o * h + firstRow + r) * w).update(from: band + o * count + r * wp, count: w)
        }
    }
}

/// The inputs and outputs of ∂x in ``backpropagateImageShifted(_:padded:dy:dTaps:db:band:inputGradient:)``.
struct ShiftedInputGradient {
    /// The forward weights as [9, Cout, Cin].
    let taps: UnsafePointer<Float>
    /// ∂x of the image, [Cin, H, W].
    let dx: UnsafeMutablePointer<Float>
    /// Scratch for ∂x in the padded layout, `paddedImageSize` floats.
    let paddedGradient: UnsafeMutablePointer<Float>
}

/// Accumulates ∂taps ([9, Cout, Cin]) and ∂b for one image, and writes its ∂x when `inputGradient` is given.
func backpropagateImageShifted(_ g: ConvolutionGeometry, padded: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                               dTaps: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
                               band: UnsafeMutablePointer<Float>, inputGradient: ShiftedInputGradient?) {
    let h = g.height, w = g.width, wp = g.paddedWidth
    let cin = g.inputChannels, cout = g.outputChannels
    for o in 0..<cout {
        db[o] += Float(PlaneReduction.sum(dy + o * h * w, count: h * w))
    }
    inputGradient?.paddedGradient.initialize(repeating: 0, count: g.paddedImageSize)
    let rowsPerBand = g.rowsPerBand
    var firstRow = 0
    while firstRow < h {
        let rows = min(rowsPerBand, h - firstRow)
        let count = rows * wp, start = firstRow * wp
        for o in 0..<cout {
            for r in 0..<rows {
                let row = band + o * count + r * wp
                row.update(from: dy + (o * h + firstRow + r) * w, count: w)
                row[w] = 0
                row[w + 1] = 0
            }
        }
        ModelProfiler.measure(.convolutionGEMM) {
            for u in 0..<3 {
                for v in 0..<3 {
                    let tap = u * 3 + v, shift = start + u * wp + v
                    gemm(transposeA: .none, transposeB: .transposed, m: cout, n: cin, k: count,
                         a: band, lda: count, b: padded + shift, ldb: g.paddedPlane,
                         beta: 1, c: dTaps + tap * cout * cin, ldc: cin)
                    if let inputGradient {
                        gemm(transposeA: .transposed, transposeB: .none, m: cin, n: count, k: cout,
                             a: inputGradient.taps + tap * cout * cin, lda: cin, b: band, ldb: count,
                             beta: 1, c: inputGradient.paddedGradient + shift, ldc: g.paddedPlane)
                    }
                }
            }
        }
        firstRow += rows
    }
    guard let inputGradient else { return }
    for c in 0..<cin {
        for i in 0..<h {
            (inputGradient.dx + (c * h + i) * w).update(
                from: inputGradient.paddedGradient + c * g.paddedPlane + (i + 1) * wp + 1, count: w)
        }
    }
}

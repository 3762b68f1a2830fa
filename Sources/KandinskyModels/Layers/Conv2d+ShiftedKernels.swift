import KandinskyCore

// The weight gradient of 3 × 3 convolutions with padding 1, without im2col.
//
// The input is copied once into a zero-padded [Cin, H + 2, W + 2] image. In that layout, the
// output pixels of a band of rows, laid out with the padded row stride W + 2 (two junk columns
// per row), read each kernel tap (u, v) from one contiguous window shifted by u·(W + 2) + v. So
// ∂W is nine GEMMs ∂y_band [Cout, band] · window [band, Cin]ᵀ, one per tap, accumulated into
// [9, Cout, Cin]. The junk columns are set to zero in the band's copy of ∂y, where they would
// otherwise leak into ∂W. This moves 9× less memory than im2col.

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

/// Accumulates ∂taps ([9, Cout, Cin]) and ∂b for one image: nine GEMMs ∂y_band · window(x)ᵀ.
func accumulateTapGradientsShifted(_ g: ConvolutionGeometry, padded: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                   dTaps: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
                                   band: UnsafeMutablePointer<Float>) {
    let h = g.height, w = g.width, wp = g.paddedWidth
    let cin = g.inputChannels, cout = g.outputChannels
    for o in 0..<cout {
        db[o] += Float(PlaneReduction.sum(dy + o * h * w, count: h * w))
    }
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
                    gemm(transposeA: .none, transposeB: .transposed, m: cout, n: cin, k: count,
                         a: band, lda: count, b: padded + start + u * wp + v, ldb: g.paddedPlane,
                         beta: 1, c: dTaps + (u * 3 + v) * cout * cin, ldc: cin)
                }
            }
        }
        firstRow += rows
    }
}

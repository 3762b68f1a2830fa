import KandinskyCore

// The im2col strategy of ``Conv2d``, for any kernel: each tile's receptive fields are unrolled
// into a column matrix multiplied by the weights with one GEMM (col2im folds ∂columns back).

/// y[:, first ..< first + count] = b + W · columns(x) for one image.
func convolveTile(
    _ g: ConvolutionGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    first: Int, count: Int, pointwise: Bool, columns: UnsafeMutablePointer<Float>
) {
    let pixels = g.outputPixels
    for o in 0..<g.outputChannels {
        (y + o * pixels + first).initialize(repeating: b[o], count: count)
    }
    let source: UnsafePointer<Float>
    let sourceStride: Int
    if pointwise {
        source = x + first
        sourceStride = pixels
    } else {
        ModelProfiler.measure(.im2col) { unrollPatches(g, x: x, first: first, count: count, columns: columns) }
        source = UnsafePointer(columns)
        sourceStride = count
    }
    ModelProfiler.measure(.convolutionGEMM) {
        gemm(
            transposeA: .none, transposeB: .none, m: g.outputChannels, n: count, k: g.patchSize,
            a: w, lda: g.patchSize, b: source, ldb: sourceStride, beta: 1, c: y + first, ldc: pixels)
    }
}

/// Accumulates ∂W and ∂b and, when `dx` is given, writes ∂x for one image.
func backpropagateImage(
    _ g: ConvolutionGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
    dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
    pointwise: Bool, columns: UnsafeMutablePointer<Float>
) {
    let pixels = g.outputPixels
    for o in 0..<g.outputChannels {
        db[o] += Float(PlaneReduction.sum(dy + o * pixels, count: pixels))
    }
    if pointwise {
        ModelProfiler.measure(.convolutionGEMM) {
            gemm(
                transposeA: .none, transposeB: .transposed, m: g.outputChannels, n: g.patchSize, k: pixels,
                a: dy, lda: pixels, b: x, ldb: pixels, beta: 1, c: dw, ldc: g.patchSize)
            guard let dx else { return }
            gemm(
                transposeA: .transposed, transposeB: .none, m: g.inputChannels, n: pixels, k: g.outputChannels,
                a: w, lda: g.patchSize, b: dy, ldb: pixels, beta: 0, c: dx, ldc: pixels)
        }
        return
    }
    dx?.initialize(repeating: 0, count: g.inputImageSize)
    let tile = g.tileSize
    var first = 0
    while first < pixels {
        let count = min(tile, pixels - first)
        ModelProfiler.measure(.im2col) { unrollPatches(g, x: x, first: first, count: count, columns: columns) }
        ModelProfiler.measure(.convolutionGEMM) {
            gemm(
                transposeA: .none, transposeB: .transposed, m: g.outputChannels, n: g.patchSize, k: count,
                a: dy + first, lda: pixels, b: columns, ldb: count, beta: 1, c: dw, ldc: g.patchSize)
        }
        if let dx {
            ModelProfiler.measure(.convolutionGEMM) {
                gemm(
                    transposeA: .transposed, transposeB: .none, m: g.patchSize, n: count, k: g.outputChannels,
                    a: w, lda: g.patchSize, b: dy + first, ldb: pixels, beta: 0, c: columns, ldc: count)
            }
            ModelProfiler.measure(.im2col) { foldPatches(g, columns: columns, first: first, count: count, dx: dx) }
        }
        first += count
    }
}

/// The output pixels `first ..< first + count` split into runs along output rows:
/// calls `body(outputRow, firstColumn, columnCount, offsetInTile)`.
@inline(__always)
private func forEachRowRun(
    _ g: ConvolutionGeometry, first: Int, count: Int,
    _ body: (Int, Int, Int, Int) -> Void
) {
    let width = g.outputWidth
    var p = first
    let end = first + count
    while p < end {
        let row = p / width
        let column = p % width
        let run = min(width - column, end - p)
        body(row, column, run, p - first)
        p += run
    }
}

/// For every column entry e = (c·k + u)·k + v of a tile and every run of the tile's pixels
/// along an output row (output row i, columns `column ..< column + run`, at `offset` in the
/// tile), calls `body(e, offset, run, valid, source)`: run position t reads x[c, i + u − p,
/// column + t + v − p], the input element `source + t`, for t in `valid`, the positions inside
/// the image (a subrange of 0..<run, empty when input row i + u − p lies outside [0, H)); the
/// others read the zero padding.
@inline(__always)
private func forEachPatchRun(
    _ g: ConvolutionGeometry, first: Int, count: Int,
    _ body: (_ entry: Int, _ offset: Int, _ run: Int, _ valid: Range<Int>, _ source: Int) -> Void
) {
    let k = g.kernel
    let pad = g.padding
    let h = g.height
    let w = g.width
    for c in 0..<g.inputChannels {
        for u in 0..<k {
            for v in 0..<k {
                let shift = v - pad
                forEachRowRun(g, first: first, count: count) { row, column, run, offset in
                    let sourceRow = row + u - pad
                    // The columns j of the run whose source column j + shift lies inside [0, W).
                    let validStart = min(max(column, -shift), column + run)
                    let validEnd = max(min(column + run, w - shift), validStart)
                    let valid = sourceRow >= 0 && sourceRow < h ? (validStart - column)..<(validEnd - column) : 0..<0
                    body((c * k + u) * k + v, offset, run, valid, (c * h + sourceRow) * w + column + shift)
                }
            }
        }
    }
}

/// im2col for a tile: columns[(c·k + u)·k + v, t] = x[c, i + u − p, j + v − p] (0 outside) for
/// the tile's pixels t ↔ (i, j).
func unrollPatches(
    _ g: ConvolutionGeometry, x: UnsafePointer<Float>, first: Int, count: Int,
    columns: UnsafeMutablePointer<Float>
) {
    forEachPatchRun(g, first: first, count: count) { entry, offset, run, valid, source in
        let out = columns + entry * count + offset
        out.initialize(repeating: 0, count: valid.lowerBound)
        if !valid.isEmpty {
            (out + valid.lowerBound).update(from: x + source + valid.lowerBound, count: valid.count)
        }
        (out + valid.upperBound).initialize(repeating: 0, count: run - valid.upperBound)
    }
}

/// col2im for a tile, the adjoint of ``unrollPatches``: adds each column entry into the input
/// pixel it was read from.
func foldPatches(
    _ g: ConvolutionGeometry, columns: UnsafePointer<Float>, first: Int, count: Int,
    dx: UnsafeMutablePointer<Float>
) {
    forEachPatchRun(g, first: first, count: count) { entry, offset, _, valid, source in
        guard !valid.isEmpty else { return }
        let into = dx + source + valid.lowerBound
        let from = columns + entry * count + offset + valid.lowerBound
        for t in 0..<valid.count { into[t] += from[t] }
    }
}

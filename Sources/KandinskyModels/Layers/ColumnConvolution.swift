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

/// The output columns j of `column ..< column + run` whose source column j + `shift` lies inside
/// [0, W), as `validStart ..< validEnd` within the run (empty at its start or end when none does).
@inline(__always)
private func validColumns(_ g: ConvolutionGeometry, shift: Int, column: Int, run: Int) -> (Int, Int) {
    let validStart = min(max(column, -shift), column + run)
    let validEnd = max(min(column + run, g.width - shift), validStart)
    return (validStart, validEnd)
}

/// For every column entry e = (c·k + u)·k + v of a tile and every run of the tile's pixels
/// along an output row, calls `body(e, c, sourceRow, column, run, offset, shift)`: the run's
/// pixels (output row, columns `column ..< column + run`, at `offset` in the tile) read input row
/// `sourceRow` of channel c (which may lie outside [0, H)) at their column + `shift` = v − p.
@inline(__always)
private func forEachPatchRun(
    _ g: ConvolutionGeometry, first: Int, count: Int,
    _ body: (
        _ entry: Int, _ channel: Int, _ sourceRow: Int, _ column: Int, _ run: Int,
        _ offset: Int, _ shift: Int
    ) -> Void
) {
    let k = g.kernel
    let pad = g.padding
    for c in 0..<g.inputChannels {
        for u in 0..<k {
            for v in 0..<k {
                forEachRowRun(g, first: first, count: count) { row, column, run, offset in
                    body((c * k + u) * k + v, c, row + u - pad, column, run, offset, v - pad)
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
    let h = g.height
    let w = g.width
    forEachPatchRun(g, first: first, count: count) { entry, c, sourceRow, column, run, offset, shift in
        let out = columns + entry * count + offset
        guard sourceRow >= 0 && sourceRow < h else {
            out.initialize(repeating: 0, count: run)
            return
        }
        let (validStart, validEnd) = validColumns(g, shift: shift, column: column, run: run)
        if validStart > column { out.initialize(repeating: 0, count: validStart - column) }
        if validEnd > validStart {
            (out + (validStart - column)).update(
                from: x + (c * h + sourceRow) * w + validStart + shift,
                count: validEnd - validStart)
        }
        if column + run > validEnd {
            (out + (validEnd - column)).initialize(repeating: 0, count: column + run - validEnd)
        }
    }
}

/// col2im for a tile, the adjoint of ``unrollPatches``: adds each column entry into the input
/// pixel it was read from.
func foldPatches(
    _ g: ConvolutionGeometry, columns: UnsafePointer<Float>, first: Int, count: Int,
    dx: UnsafeMutablePointer<Float>
) {
    let h = g.height
    let w = g.width
    forEachPatchRun(g, first: first, count: count) { entry, c, sourceRow, column, run, offset, shift in
        guard sourceRow >= 0 && sourceRow < h else { return }
        let (validStart, validEnd) = validColumns(g, shift: shift, column: column, run: run)
        guard validEnd > validStart else { return }
        let into = dx + (c * h + sourceRow) * w + validStart + shift
        let from = columns + entry * count + offset + (validStart - column)
        for i in 0..<(validEnd - validStart) { into[i] += from[i] }
    }
}

import KandinskyCore

/// `v / 255` for every byte value, so conversion is a table look-up.
private let unitValues: [Float] = (0..<256).map { Float($0) / 255 }

/// Fits an image into fixed `dims` (`width × height`, default 320 × 240) keeping its aspect
/// ratio, then centres it with zero padding, as the original pipeline did.
///
/// Size rule (all in double precision, in this order): a landscape image (`w > h`) is
/// width-limited, `newWidth = W`, `newHeight = ⌊W / (w / h)⌋`; any other is height-limited,
/// `newHeight = H`, `newWidth = ⌊H · (w / h)⌋`. So 640 × 424 becomes 320 × 211 (not 212: the
/// double quotient is just below 212). The original overflowed its canvas for landscape images
/// flatter than `W / H` (640 × 512 → 320 × 256 in a 240-row canvas); here, when the chosen size
/// does not fit, the other limit is used instead (640 × 512 → 300 × 240). Padding: `left =
/// ⌊(W − newWidth) / 2⌋`, `top = ⌊(H − newHeight) / 2⌋`.
public struct ResizeAndPad: Sendable, Equatable {
    /// Where a resized image lands on the canvas.
    package struct Placement: Sendable, Equatable {
        /// Resized width.
        package var width: Int
        /// Resized height.
        package var height: Int
        /// Columns of padding on the left.
        package var left: Int
        /// Rows of padding on top.
        package var top: Int

        /// A placement of a `width × height` image at column `left`, row `top` of the canvas.
        package init(width: Int, height: Int, left: Int, top: Int) {
            self.width = width
            self.height = height
            self.left = left
            self.top = top
        }
    }

    /// Canvas width `W`.
    public let width: Int
    /// Canvas height `H`.
    public let height: Int

    /// A canvas of `width × height` pixels (the original's `dims = [W, H]`).
    public init(width: Int = 320, height: Int = 240) {
        precondition(width > 0 && height > 0, "dims must be positive, got \(width)×\(height)")
        self.width = width
        self.height = height
    }

    /// The placement of a `sourceWidth × sourceHeight` image on the canvas.
    package func placement(sourceWidth w: Int, sourceHeight h: Int) -> Placement {
        precondition(w > 0 && h > 0, "image size must be positive, got \(w)×\(h)")
        let aspect = Double(w) / Double(h)
        let widthLimited = (width, max(1, Int((Double(width) / aspect).rounded(.down))))
        let heightLimited = (max(1, Int((Double(height) * aspect).rounded(.down))), height)
        var (newWidth, newHeight) = w > h ? widthLimited : heightLimited
        if newWidth > width || newHeight > height {
            (newWidth, newHeight) = w > h ? heightLimited : widthLimited
        }
        return Placement(
            width: newWidth, height: newHeight, left: (width - newWidth) / 2, top: (height - newHeight) / 2)
    }

    /// The image resized (Pillow bilinear) and padded: `[3, H, W]`, values in [0, 1], zeros in
    /// the padding.
    /// - Complexity: O(source pixels · support + H · W).
    public func image(_ image: RGBImage) -> Tensor {
        var output = Tensor(shape: [3, height, width], repeating: 0)
        output.withUnsafeMutableBufferPointer { write(image, into: $0) }
        return output
    }

    /// Writes the resized and padded image into `output`, a `[3, H, W]` buffer (for example one
    /// sample of a batch), padding included.
    package func write(_ image: RGBImage, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(
            output.count == 3 * width * height, "output must hold [3, \(height), \(width)], got \(output.count) floats")
        let place = placement(sourceWidth: image.width, sourceHeight: image.height)
        let resized = PillowBilinear.resize(image, width: place.width, height: place.height)
        let plane = width * height
        // Zero only the padding: the rest is overwritten below.
        for channel in 0..<3 {
            let base = output.baseAddress! + channel * plane
            base.initialize(repeating: 0, count: place.top * width)
            for y in place.top..<(place.top + place.height) {
                (base + y * width).initialize(repeating: 0, count: place.left)
                (base + y * width + place.left + place.width).initialize(
                    repeating: 0, count: width - place.left - place.width)
            }
            (base + (place.top + place.height) * width).initialize(
                repeating: 0, count: (height - place.top - place.height) * width)
        }
        resized.pixels.withUnsafeBufferPointer { pixels in
            unitValues.withUnsafeBufferPointer { unit in
                let output = output.baseAddress!
                for y in 0..<place.height {
                    let source = pixels.baseAddress! + y * place.width * 3
                    let target = output + (y + place.top) * width + place.left
                    for x in 0..<place.width {
                        target[x] = unit[Int(source[3 * x])]
                        target[plane + x] = unit[Int(source[3 * x + 1])]
                        target[2 * plane + x] = unit[Int(source[3 * x + 2])]
                    }
                }
            }
        }
    }

    /// A `[1 + C, h, w]` target resized by nearest neighbour (see `nearestSourceIndex(_:inputCount:outputCount:)`)
    /// and padded. Channel 0 (background) is recomputed afterwards, so the padding band is
    /// background: every pixel of the result belongs to exactly one of "background" or at
    /// least one category.
    /// - Complexity: O((1 + C) · H · W).
    public func target(_ target: ShapedArray<UInt8>) -> ShapedArray<UInt8> {
        precondition(target.rank == 3 && target.shape[0] >= 1, "target must be [1 + C, H, W], got \(target.shape)")
        let channels = target.shape[0]
        let sourceHeight = target.shape[1]
        let sourceWidth = target.shape[2]
        let place = placement(sourceWidth: sourceWidth, sourceHeight: sourceHeight)
        let rows = (0..<place.height).map {
            Self.nearestSourceIndex($0, inputCount: sourceHeight, outputCount: place.height)
        }
        let columns = (0..<place.width).map {
            Self.nearestSourceIndex($0, inputCount: sourceWidth, outputCount: place.width)
        }
        let plane = width * height
        let sourcePlane = sourceWidth * sourceHeight
        var output = ShapedArray<UInt8>(shape: [channels, height, width], repeating: 0)
        output.withUnsafeMutableBufferPointer { out in
            target.withUnsafeBufferPointer { source in
                for channel in 1..<channels {
                    for y in 0..<place.height {
                        let sourceRow = channel * sourcePlane + rows[y] * sourceWidth
                        let targetRow = channel * plane + (y + place.top) * width + place.left
                        for x in 0..<place.width {
                            out[targetRow + x] = source[sourceRow + columns[x]]
                        }
                    }
                }
            }
            Self.recomputeBackground(out, channels: channels, plane: plane)
        }
        return output
    }

    /// PyTorch's `interpolate(mode="nearest")` source index: `min(⌊dst · s⌋, in − 1)` with
    /// `s = in / out` and the product computed in Float32. Exact rational arithmetic differs on
    /// some rows (for 500 → 240, output row 60 reads row 124, not 125).
    package static func nearestSourceIndex(_ index: Int, inputCount: Int, outputCount: Int) -> Int {
        if inputCount == outputCount { return index }
        if outputCount == 2 * inputCount { return index >> 1 }
        let scale = Float(inputCount) / Float(outputCount)
        return min(Int((Float(index) * scale).rounded(.down)), inputCount - 1)
    }

    /// Sets channel 0 of a `[1 + C, plane]` 0/1 buffer to 1 exactly where no other channel is 1.
    static func recomputeBackground(_ buffer: UnsafeMutableBufferPointer<UInt8>, channels: Int, plane: Int) {
        for i in 0..<plane {
            var covered: UInt8 = 0
            for channel in 1..<channels { covered |= buffer[channel * plane + i] }
            buffer[i] = covered == 0 ? 1 : 0
        }
    }
}

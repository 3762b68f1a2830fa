import Foundation
import KandinskyCore
import KandinskyData

/// A colour-mapped image of an [H, W] map, with a colour bar, as PNG.
///
/// Values are mapped linearly from `range` onto viridis (dark violet at the low end, yellow at
/// the high end) and clamped outside it; the range is fixed rather than fitted to the data so
/// maps of different models compare at a glance. NaN pixels are ``missingColour``. The image is
/// scaled by an integer factor so small maps stay visible, and a vertical colour bar (low at the
/// bottom, without numbers: a PNG has no font) sits to the right unless ``colourBar`` is off, for
/// a page that draws its own bar with ticks; the range is recorded in the PNG's `tEXt` chunks
/// (`range-low`, `range-high`, `title`).
public struct HeatMap: Sendable {
    /// The values mapped to the two ends of the colour scale.
    public var range: ClosedRange<Float>
    /// A title stored in the PNG.
    public var title: String
    /// Whether the PNG has its own (unnumbered) colour bar on the right.
    public var colourBar: Bool

    /// The colour of NaN pixels: mid grey, a colour viridis never takes (its red, green
    /// and blue are never equal).
    public static let missingColour: (UInt8, UInt8, UInt8) = (128, 128, 128)

    /// A heat map mapping `range` onto the colour scale, titled `title`, with or without the
    /// PNG's own colour bar.
    public init(range: ClosedRange<Float>, title: String, colourBar: Bool = true) {
        self.range = range
        self.title = title
        self.colourBar = colourBar
    }

    /// The viridis colour at t ∈ [0, 1], interpolated between nine evenly spaced anchor
    /// colours of the matplotlib map.
    public static func viridis(_ t: Float) -> (UInt8, UInt8, UInt8) {
        let anchors: [(Float, Float, Float)] = [
            (68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 144, 140),
            (39, 173, 129), (93, 200, 99), (170, 220, 50), (253, 231, 37),
        ]
        let x = min(max(t, 0), 1) * Float(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2)
        let f = x - Float(i)
        let a = anchors[i]
        let b = anchors[i + 1]
        func mix(_ u: Float, _ v: Float) -> UInt8 { UInt8((u + (v - u) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The PNG of `values` ([H, W]): the map scaled by ⌊256 / max(H, W)⌋ (at least 1), and the
    /// bar beside it when ``colourBar`` is on.
    /// - Complexity: O(H · W · scale²).
    public func png(_ values: Tensor) -> Data {
        precondition(values.rank == 2, "a heat map needs an [H, W] map, got \(values.shape)")
        let (h, w) = (values.shape[0], values.shape[1])
        let scale = max(1, 256 / max(h, w))
        let gap = colourBar ? 4 * scale : 0
        let barWidth = colourBar ? max(8, 12 * scale / 2) : 0
        let imageWidth = w * scale
        let imageHeight = h * scale
        let span = range.upperBound - range.lowerBound
        var map = [UInt8](repeating: 0, count: imageWidth * imageHeight * 3)
        values.withUnsafeBufferPointer { v in
            for row in 0..<imageHeight {
                for col in 0..<imageWidth {
                    let value = v[(row / scale) * w + col / scale]
                    let colour =
                        value.isNaN
                        ? Self.missingColour : Self.viridis(span > 0 ? (value - range.lowerBound) / span : 0)
                    let o = (row * imageWidth + col) * 3
                    map[o] = colour.0
                    map[o + 1] = colour.1
                    map[o + 2] = colour.2
                }
            }
        }
        var image = RGBImage(width: imageWidth + gap + barWidth, height: imageHeight)
        image.paste(RGBImage(width: imageWidth, height: imageHeight, pixels: map), x: 0, y: 0)
        if colourBar {
            var bar = [UInt8](repeating: 0, count: barWidth * imageHeight * 3)
            for row in 0..<imageHeight {
                let t = imageHeight > 1 ? Float(imageHeight - 1 - row) / Float(imageHeight - 1) : 0
                let colour = Self.viridis(t)
                for col in 0..<barWidth {
                    let o = (row * barWidth + col) * 3
                    bar[o] = colour.0
                    bar[o + 1] = colour.1
                    bar[o + 2] = colour.2
                }
            }
            image.paste(RGBImage(width: barWidth, height: imageHeight, pixels: bar), x: imageWidth + gap, y: 0)
        }
        let text = ["title": title, "range-low": "\(range.lowerBound)", "range-high": "\(range.upperBound)"]
        return PNGImage.encode(rgb8: image.pixels, width: image.width, height: image.height, text: text)
    }
}

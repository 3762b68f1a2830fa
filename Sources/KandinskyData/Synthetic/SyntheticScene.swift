import Foundation
import KandinskyCore

/// One synthetic frame: the rendered image and its annotations. The scenes are built in their
/// own files (`SyntheticScene+Person.swift`, `SyntheticScene+Anatomy.swift`) from the pieces
/// here and the polygons of ``SyntheticShapes``.
///
/// Every scene paints objects from the rounded polygons it annotates (``rounded(_:)``), so that
/// the masks match the painted pixels exactly before ``finished(_:width:height:noise:using:)``
/// blurs the frame and adds noise.
struct SyntheticScene {
    struct Object {
        var categoryID: Int
        var segmentation: COCOManifest.Segmentation
        var isCrowd: Int
        /// Row-major `[H, W]` 0/1 mask, as ``COCOManifest/instanceMask(of:height:width:file:path:)`` decodes the segmentation.
        var mask: [UInt8]
    }

    var image: RGBImage
    var objects: [Object]

    /// Coordinates rounded to 0.01 px, as stored in the manifest (so painting and annotation agree).
    static func rounded(_ polygon: [Double]) -> [Double] {
        polygon.map { ($0 * 100).rounded() / 100 }
    }

    /// The frame as 8-bit RGB: `canvas` (row-major `[H, W]`, values nominally in [0, 1]) softened
    /// by a 3 × 3 binomial blur (edges clamped), plus the same normal noise of standard deviation
    /// `noise` on every channel of a pixel (so a grey canvas stays grey), rounded and clipped.
    /// Draws one normal deviate per pixel, in row-major order.
    /// - Complexity: O(H · W).
    static func finished(_ canvas: [SIMD3<Double>], width: Int, height: Int, noise: Double,
                         using generator: inout SeededGenerator) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                var sum = SIMD3<Double>.zero
                var weight = 0.0
                for dy in -1...1 {
                    for dx in -1...1 {
                        let yy = min(max(y + dy, 0), height - 1), xx = min(max(x + dx, 0), width - 1)
                        let k = Double((2 - abs(dx)) * (2 - abs(dy)))
                        sum += canvas[yy * width + xx] * k
                        weight += k
                    }
                }
                let c = sum / weight + SIMD3(repeating: noise * generator.nextNormal())
                for channel in 0..<3 {
                    pixels[(y * width + x) * 3 + channel] = UInt8(min(max((c[channel] * 255).rounded(), 0), 255))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

extension SeededGenerator {
    /// A uniform `Double` in `range` (one ``nextUnitDouble()`` draw), the scenes' draw of a size,
    /// a position or a level.
    mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUnitDouble()
    }
}

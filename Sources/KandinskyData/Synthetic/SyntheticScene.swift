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
        /// Row-major `[H, W]` 0/1 mask, as ``COCOManifest/instanceMask(of:height:width:file:path:)`` decodes the
        /// segmentation.
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
    static func finished(
        _ canvas: [SIMD3<Double>], width: Int, height: Int, noise: Double,
        using generator: inout SeededGenerator
    ) -> RGBImage {
        // Plain doubles rather than SIMD3 arithmetic, which is slow in debug builds (where the
        // tests generate data); each sum is still taken row by row, left to right.
        var planar = [Double](repeating: 0, count: 3 * canvas.count)
        for i in 0..<canvas.count {
            planar[3 * i] = canvas[i].x
            planar[3 * i + 1] = canvas[i].y
            planar[3 * i + 2] = canvas[i].z
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        planar.withUnsafeBufferPointer { canvas in
            pixels.withUnsafeMutableBufferPointer { pixels in
                for y in 0..<height {
                    let above = max(y - 1, 0) * width
                    let row = y * width
                    let below = min(y + 1, height - 1) * width
                    for x in 0..<width {
                        let left = max(x - 1, 0)
                        let right = min(x + 1, width - 1)
                        let offset = noise * generator.nextNormal()
                        for channel in 0..<3 {
                            func at(_ row: Int, _ column: Int) -> Double { canvas[3 * (row + column) + channel] }
                            var sum = at(above, left) * 1
                            sum += at(above, x) * 2
                            sum += at(above, right) * 1
                            sum += at(row, left) * 2
                            sum += at(row, x) * 4
                            sum += at(row, right) * 2
                            sum += at(below, left) * 1
                            sum += at(below, x) * 2
                            sum += at(below, right) * 1
                            // 16 is the kernel's sum.
                            let c = sum / 16 + offset
                            pixels[3 * (row + x) + channel] = UInt8(min(max((c * 255).rounded(), 0), 255))
                        }
                    }
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

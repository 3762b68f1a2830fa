import Foundation
import KandinskyCore

/// A seeded generator of exchangeable two-class segmentation data with spatial structure: the
/// data on which a grouping's coverage can be checked against the conformal guarantee.
///
/// Each image holds `objectCount` elliptical objects (class 1; class 0 is the rest) whose
/// semi-axes are `objectSize` × min(H, W) (the second axis 0.6 to 1.4 times the first),
/// centred within the middle `centreSpread` of each axis. The model's probability of class 1 is
/// an overconfident sigmoid, p = σ(1.8·z), of a logit z that is high inside objects and falls
/// off outside, z = clamp(3·(1 − d), −4, 4) + o + ε, with d the pixel's smallest normalised
/// squared distance to an object centre, o ~ N(0, 0.6²) per image (some images are harder) and
/// ε ~ N(0, 0.8²) per pixel. Scores therefore depend on where a pixel is, on its object's size
/// and on the image, as in real segmentation. Every image is an independent draw, so
/// calibration and test images drawn from one generator are exchangeable.
///
/// The same generator state gives the same bytes.
public struct ExchangeableScenes: Sendable, Equatable {
    /// H.
    public var height: Int
    /// W.
    public var width: Int
    /// The number of objects per image, drawn uniformly from this range.
    public var objectCount: ClosedRange<Int>
    /// The first semi-axis of an object as a fraction of min(H, W), drawn uniformly.
    public var objectSize: ClosedRange<Double>
    /// Object centres are uniform in the middle `centreSpread` of each axis (1: anywhere).
    public var centreSpread: Double

    /// A generator of H × W scenes; by default one to three objects from 5 % to a third of the
    /// image across, biased towards the centre.
    ///
    /// - Precondition: H, W ≥ 1; object counts ≥ 1; sizes > 0; spread in [0, 1].
    public init(
        height: Int, width: Int, objectCount: ClosedRange<Int> = 1...3,
        objectSize: ClosedRange<Double> = 0.05...0.33, centreSpread: Double = 0.6
    ) {
        precondition(height >= 1 && width >= 1, "scenes need at least one pixel, got \(height) × \(width)")
        precondition(
            objectCount.lowerBound >= 1 && objectSize.lowerBound > 0 && (0...1).contains(centreSpread),
            "object counts must be ≥ 1, sizes > 0 and the spread in [0, 1]")
        self.height = height
        self.width = width
        self.objectCount = objectCount
        self.objectSize = objectSize
        self.centreSpread = centreSpread
    }

    /// `count` independent images: probabilities [count, 2, H, W] (channel 0 = 1 − channel 1)
    /// and one-hot targets [count, 2, H, W].
    ///
    /// - Complexity: O(count · H · W · objects).
    public func images(count: Int, using generator: inout some RandomNumberGenerator) -> (
        probabilities: Tensor, targets: ShapedArray<UInt8>
    ) {
        let (h, w) = (height, width)
        var p = [Float](repeating: 0, count: count * 2 * h * w)
        var t = [UInt8](repeating: 0, count: count * 2 * h * w)
        let size = Double(min(h, w))
        for image in 0..<count {
            let objects = (0..<Int.random(in: objectCount, using: &generator)).map {
                _ -> (x: Double, y: Double, a: Double, b: Double) in
                let x = Double(w) / 2 + (generator.nextUnitDouble() - 0.5) * Double(w) * centreSpread
                let y = Double(h) / 2 + (generator.nextUnitDouble() - 0.5) * Double(h) * centreSpread
                let a =
                    size
                    * (objectSize.lowerBound + (objectSize.upperBound - objectSize.lowerBound)
                        * generator.nextUnitDouble())
                return (x, y, a, a * (0.6 + 0.8 * generator.nextUnitDouble()))
            }
            let offset = 0.6 * generator.nextNormal()
            for row in 0..<h {
                for col in 0..<w {
                    var distance = Double.infinity
                    for o in objects {
                        let dx = (Double(col) + 0.5 - o.x) / o.a
                        let dy = (Double(row) + 0.5 - o.y) / o.b
                        distance = min(distance, dx * dx + dy * dy)
                    }
                    let inside = distance <= 1
                    let logit = min(max(3 * (1 - distance), -4), 4) + offset + 0.8 * generator.nextNormal()
                    let predicted = Float(1 / (1 + exp(-1.8 * logit)))
                    let pixel = row * w + col
                    p[(image * 2 + 1) * h * w + pixel] = predicted
                    p[(image * 2) * h * w + pixel] = 1 - predicted
                    t[(image * 2 + 1) * h * w + pixel] = inside ? 1 : 0
                    t[(image * 2) * h * w + pixel] = inside ? 0 : 1
                }
            }
        }
        return (Tensor(shape: [count, 2, h, w], scalars: p), ShapedArray(shape: [count, 2, h, w], scalars: t))
    }
}

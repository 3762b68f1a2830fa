import Foundation
import KandinskyCore

/// Training augmentation applied to resized-and-padded samples, with the same random parameters
/// for the image (bilinear) and the target (nearest neighbour): a horizontal flip with
/// probability 0.5, then a random affine map about the image centre — rotation by
/// θ ∈ U(−5°, 5°), translation by integers `t = (round(U(−0.1 W, 0.1 W)), round(U(−0.1 H, 0.1 H)))`
/// and scaling by s ∈ U(0.8, 1.2), as torchvision's `RandomAffine(5, (0.1, 0.1), (0.8, 1.2))`.
///
/// Output pixel centre `p` reads the input at `c + R(−θ)(p − c − t) / s` with `c` the image
/// centre; outside the input the image is 0 and the target has no category. The background
/// channel is recomputed afterwards, so uncovered pixels become background.
public struct Augmentation: Sendable, Equatable {
    /// The random parameters of one application.
    package struct Parameters: Sendable, Equatable {
        /// Whether to mirror left and right (before the affine map).
        package var flip: Bool
        /// Rotation in radians (clockwise on screen, where y points down, for positive values).
        package var angle: Double
        /// Translation in pixels (x right, y down), integers as torchvision draws them.
        package var translationX: Double
        /// See `translationX`.
        package var translationY: Double
        /// Magnification (above 1 enlarges).
        package var scale: Double

        /// Explicit parameters; the defaults are the identity (no flip, no rotation, no shift, scale 1).
        package init(
            flip: Bool = false, angle: Double = 0, translationX: Double = 0, translationY: Double = 0, scale: Double = 1
        ) {
            self.flip = flip
            self.angle = angle
            self.translationX = translationX
            self.translationY = translationY
            self.scale = scale
        }

        var isIdentityAffine: Bool { angle == 0 && translationX == 0 && translationY == 0 && scale == 1 }
    }

    /// Probability of a horizontal flip.
    public var flipProbability: Double
    /// Largest rotation either way, in degrees.
    public var maxRotationDegrees: Double
    /// Largest translation as a fraction of each side.
    public var maxTranslation: Double
    /// The range the scale is drawn from uniformly.
    public var scaleRange: ClosedRange<Double>

    /// The original's training augmentation (defaults as documented on the type).
    public init(
        flipProbability: Double = 0.5, maxRotationDegrees: Double = 5, maxTranslation: Double = 0.1,
        scaleRange: ClosedRange<Double> = 0.8...1.2
    ) {
        self.flipProbability = flipProbability
        self.maxRotationDegrees = maxRotationDegrees
        self.maxTranslation = maxTranslation
        self.scaleRange = scaleRange
    }

    /// Draws parameters for a `width × height` sample: flip, angle, translation x, y, scale, in that order.
    package func parameters(width: Int, height: Int, using generator: inout some RandomNumberGenerator) -> Parameters {
        func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUnitDouble()
        }
        let flip = uniform(0...1) < flipProbability
        let angle = uniform(-maxRotationDegrees...maxRotationDegrees) * .pi / 180
        let tx = uniform(-maxTranslation * Double(width)...maxTranslation * Double(width)).rounded()
        let ty = uniform(-maxTranslation * Double(height)...maxTranslation * Double(height)).rounded()
        return Parameters(flip: flip, angle: angle, translationX: tx, translationY: ty, scale: uniform(scaleRange))
    }

    /// Draws parameters and applies them.
    public func callAsFunction(_ sample: SegmentationSample, using generator: inout some RandomNumberGenerator)
        -> SegmentationSample
    {
        apply(parameters(width: sample.image.shape[2], height: sample.image.shape[1], using: &generator), to: sample)
    }

    /// Applies given parameters to image and target.
    /// - Complexity: O((3 + C) · H · W).
    package func apply(_ parameters: Parameters, to sample: SegmentationSample) -> SegmentationSample {
        let height = sample.image.shape[1]
        let width = sample.image.shape[2]
        let plane = height * width
        let channels = sample.target.shape[0]
        // Inverse map of output pixel (x, y) to input coordinates, as x' = a x + b y + e, y' = c x + d y + f.
        let cosine = cos(parameters.angle) / parameters.scale
        let sine = sin(parameters.angle) / parameters.scale
        let cx = Double(width - 1) / 2
        let cy = Double(height - 1) / 2
        let a = cosine
        let b = sine
        let c = -sine
        let d = cosine
        let e = cx - a * (cx + parameters.translationX) - b * (cy + parameters.translationY)
        let f = cy - c * (cx + parameters.translationX) - d * (cy + parameters.translationY)
        let flip = parameters.flip
        let identity = parameters.isIdentityAffine
        var image = Tensor(shape: [3, height, width], repeating: 0)
        var target = ShapedArray<UInt8>(shape: [channels, height, width], repeating: 0)
        sample.image.withUnsafeBufferPointer { source in
            image.withUnsafeMutableBufferPointer { out in
                sample.target.withUnsafeBufferPointer { sourceTarget in
                    target.withUnsafeMutableBufferPointer { outTarget in
                        for y in 0..<height {
                            for x in 0..<width {
                                let o = y * width + x
                                // The flip happens first, so the affine map reads the flipped image.
                                var sx = Double(x)
                                var sy = Double(y)
                                if !identity {
                                    sx = a * Double(x) + b * Double(y) + e
                                    sy = c * Double(x) + d * Double(y) + f
                                }
                                if flip { sx = Double(width - 1) - sx }
                                // Nearest neighbour for the target.
                                let nx = Int((sx + 0.5).rounded(.down))
                                let ny = Int((sy + 0.5).rounded(.down))
                                if nx >= 0, nx < width, ny >= 0, ny < height {
                                    for channel in 1..<channels {
                                        outTarget[channel * plane + o] = sourceTarget[channel * plane + ny * width + nx]
                                    }
                                }
                                // Bilinear for the image, zero outside.
                                let x0 = Int(sx.rounded(.down))
                                let y0 = Int(sy.rounded(.down))
                                let fx = Float(sx - Double(x0))
                                let fy = Float(sy - Double(y0))
                                for channel in 0..<3 {
                                    let base = channel * plane
                                    func at(_ xx: Int, _ yy: Int) -> Float {
                                        xx >= 0 && xx < width && yy >= 0 && yy < height
                                            ? source[base + yy * width + xx] : 0
                                    }
                                    let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
                                    let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
                                    out[base + o] = top * (1 - fy) + bottom * fy
                                }
                            }
                        }
                        ResizeAndPad.recomputeBackground(outTarget, channels: channels, plane: plane)
                    }
                }
            }
        }
        return SegmentationSample(image: image, target: target, imageID: sample.imageID)
    }
}

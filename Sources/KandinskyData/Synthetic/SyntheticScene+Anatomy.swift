import Foundation
import KandinskyCore

/// Where the anatomy scene's organ sits and how far it moves: the scene draws from these, and
/// tests of its position statistics read them.
package enum AnatomyLayout {
    /// The organ's centroid before its shift, as fractions `(x, y)` of the frame's width and
    /// height (mask pixel indices: the mean column is `x · width`): just left of and above the
    /// frame centre, in front of the spine, as the pancreas lies in an axial slice shown in the
    /// radiological convention (the patient's right on the image's left, anterior up).
    package static let anchor = (x: 0.48, y: 0.46)
    /// The largest shift of the centroid from ``anchor`` along either axis, as a fraction of the
    /// frame's width: 0.03, 3.84 px at 128 × 96. Each axis's shift is normal with half this
    /// standard deviation, clipped at it: a few pixels, as a patient's position on the table
    /// and their breathing move the organ between slices.
    package static let maximumShift = 0.03
    /// The largest rotation either way, in radians (10°); rotations are normal with 4° standard
    /// deviation, clipped at it.
    package static let maximumRotation = 10 * Double.pi / 180
    /// The probability that a frame holds no organ (a slice above or below it).
    package static let absentProbability = 0.03
    /// The probability that the organ is small (scale 0.35–0.6: a slice through its edge).
    package static let smallProbability = 0.04
}

/// The CT-slice-like frame of ``SyntheticDataset/Scene/anatomy``, an imitation of the Medical
/// Segmentation Decathlon's pancreas slices: one frame size, grey levels, and a target whose
/// position hardly changes from frame to frame.
///
/// Grey levels are a soft-tissue window mapped to [0, 1]: air 0.02, fat about 0.3, parenchyma
/// about 0.57, contrast-filled vessels about 0.7, bone about 0.9. What is drawn, back to front:
/// - The body: a centred ellipse of varying size (radii 38–48 % of the width and 34–47 % of the
///   height), its posterior half flattened towards a rounded rectangle as a body lying on the
///   table, with skin, a subcutaneous fat layer of varying depth and a muscle wall; the table
///   below it; smooth random soft-tissue texture at two scales inside.
/// - The landmarks at fixed places relative to the body: the vertebra (bone, with its canal and
///   posterior process), the paraspinal muscles, the aorta and the inferior vena cava.
/// - Distractors at jittered anatomical places, most of them of about the target's grey level and
///   each present in most frames: the liver (image left), the spleen (image right, posterior),
///   both kidneys, the stomach (gas in a wall, fluid, or collapsed), sometimes the gall bladder,
///   and 2–5 bowel loops in front (the same three kinds).
/// - Vessels along the target: the splenic vein behind its body and tail (60 % of frames) and
///   the superior mesenteric vein behind its neck (70 %).
/// - The target, `organ` (id 1): a bent, lobulated blob of 5–7 overlapping ellipses along a
///   quadratic Bézier arch, convex towards the front, thick at the head (image left) and
///   tapering to the tail, with 1–3 lobules on its edge and, in half the frames, a hook below
///   the head. Its length is 0.3 × width times a scale of 0.85–1.15 (see ``AnatomyLayout`` for
///   the rare small or absent organ), it is rotated by at most 10°, and it is placed so that its
///   mask's centroid is ``AnatomyLayout/anchor`` plus a shift of at most
///   ``AnatomyLayout/maximumShift``. Each lobe has its own grey level.
/// - Uncertain boundaries: in 35 % of frames a duodenum of the organ's grey level abuts its
///   head, so that part of the boundary is invisible; in 25 % one end fades towards the fat
///   level (partial volume: the annotation keeps the whole organ); in 15 % the whole organ has
///   half to two thirds of its usual contrast.
/// - A 3 × 3 binomial blur and normal noise (standard deviation 0.012–0.03).
///
/// Annotation: the organ only, as the pancreas task labels its organ and not the others;
/// compressed RLE in 70 % of frames and the lobes' polygons (rounded to 0.01 px, the pixels
/// painted from exactly those) in the rest. A frame without an organ has no annotation.
extension SyntheticScene {
    static let organID = 1

    static func anatomy(width: Int, height: Int, using generator: inout SeededGenerator) -> SyntheticScene {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        func chance(_ probability: Double) -> Bool { generator.nextUnitDouble() < probability }
        func clippedNormal(_ deviation: Double, limit: Double) -> Double {
            min(max(deviation * generator.nextNormal(), -limit), limit)
        }
        typealias Point = SyntheticShapes.Point
        let w = Double(width)
        let h = Double(height)
        let plane = width * height
        // Sizes of thin structures are in pixels of the default 128-pixel width.
        let unit = w / 128
        var level = [Double](repeating: 0.02, count: plane)

        // The body, its layers and its texture.
        let centre: Point = (
            w / 2 + clippedNormal(0.01 * w, limit: 0.02 * w), h / 2 + clippedNormal(0.01 * h, limit: 0.02 * h)
        )
        let build = uniform(0.84...1.0)
        let rx = 0.47 * w * build * uniform(0.95...1.03)
        let ry = min(0.45 * h * build * uniform(0.9...1.04), 0.47 * h)
        let backExponent = uniform(2.0...2.8)
        let skin = 1.2 * unit / ry
        let fat = uniform(0.04...0.12)
        let wall = uniform(0.03...0.05)
        let interiorLimit = 1 - skin - fat - wall
        let fatLevel = uniform(0.27...0.33)
        let texture = valueNoise(width: width, height: height, cell: 0.06 * w, amplitude: 0.035, using: &generator)
        let grain = valueNoise(width: width, height: height, cell: 0.025 * w, amplitude: 0.025, using: &generator)
        let tableTop = centre.y + ry + 0.03 * h
        var inside = [Bool](repeating: false, count: plane)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let u = abs(Double(x) - centre.x) / rx
                let v = (Double(y) - centre.y) / ry
                let p = v < 0 ? 2 : backExponent
                let r = pow(pow(u, p) + pow(abs(v), p), 1 / p)
                let tissue = texture[i] + grain[i]
                switch r {
                case ...interiorLimit:
                    level[i] = fatLevel + tissue
                    inside[i] = true
                case ...(1 - skin - fat): level[i] = 0.48 + tissue
                case ...(1 - skin): level[i] = 0.22 + 0.5 * tissue
                case ...1: level[i] = 0.45
                default:
                    if Double(y) >= tableTop, Double(y) < tableTop + 0.035 * h, abs(Double(x) - w / 2) < 0.42 * w {
                        level[i] = 0.28
                    }
                }
            }
        }
        /// Fills `polygon`'s pixels with `value` plus `textured` times the texture, inside the
        /// muscle wall only.
        func fill(_ polygon: [Double], _ value: Double, textured: Double = 0.6) {
            PolygonRasterizer.rle(polygon: polygon, height: height, width: width).forEachCoveredPixel { i in
                guard inside[i] else { return }
                level[i] = value + textured * (texture[i] + grain[i])
            }
        }
        func body(_ u: Double, _ v: Double) -> Point { (centre.x + u * rx, centre.y + v * ry) }

        // Fixed landmarks: vertebra, canal, posterior process, paraspinal muscles, aorta, IVC.
        let parenchyma = uniform(0.54...0.60)
        for side in [-1.0, 1.0] {
            fill(
                SyntheticShapes.ellipse(
                    centre: body(side * 0.2, 0.8), radiusX: 0.16 * rx, radiusY: 0.15 * ry, angle: side * 0.3,
                    vertices: 18), 0.5)
        }
        fill(
            SyntheticShapes.capsule(from: body(0, 0.62), to: body(uniform(-0.02...0.02), 0.9), radius: 0.045 * ry),
            0.85, textured: 0.3)
        fill(
            SyntheticShapes.ellipse(centre: body(0, 0.62), radiusX: 0.16 * ry, radiusY: 0.15 * ry, vertices: 18),
            uniform(0.86...0.94), textured: 0.3)
        fill(
            SyntheticShapes.ellipse(centre: body(0, 0.8), radiusX: 0.06 * ry, radiusY: 0.055 * ry), 0.38, textured: 0.2)
        fill(
            SyntheticShapes.ellipse(centre: body(uniform(0.03...0.09), 0.38), radiusX: 0.075 * ry, radiusY: 0.075 * ry),
            uniform(0.7...0.8), textured: 0.2)
        fill(
            SyntheticShapes.ellipse(
                centre: body(uniform(-0.24 ... -0.17), 0.36), radiusX: 0.07 * rx, radiusY: 0.06 * ry,
                angle: uniform(-0.3...0.3)),
            uniform(0.62...0.7), textured: 0.3)

        // Distractors at jittered anatomical places, most of them at parenchyma's grey level.
        func jittered(_ u: Double, _ v: Double) -> Point { body(u + uniform(-0.05...0.05), v + uniform(-0.05...0.05)) }
        if chance(0.9) {
            let liver = jittered(-0.66, -0.3)
            let value = parenchyma + uniform(0...0.06)
            fill(
                SyntheticShapes.ellipse(
                    centre: liver, radiusX: 0.27 * rx * uniform(0.85...1.15), radiusY: 0.5 * ry * uniform(0.85...1.15),
                    angle: uniform(-0.3...0.2), vertices: 24), value)
            fill(
                SyntheticShapes.blob(
                    centre: (liver.x - 0.05 * rx, liver.y + 0.15 * ry), radius: 0.26 * rx,
                    vertices: 11 + uniformIndex(below: 5, using: &generator), using: &generator), value)
            if chance(0.25) {
                fill(
                    SyntheticShapes.ellipse(
                        centre: jittered(-0.42, -0.5), radiusX: 0.09 * rx, radiusY: 0.11 * ry,
                        angle: uniform(-0.5...0.5)), uniform(0.36...0.42))
            }
        }
        if chance(0.75) {
            fill(
                SyntheticShapes.ellipse(
                    centre: jittered(0.7, 0.18), radiusX: 0.14 * rx * uniform(0.8...1.2),
                    radiusY: 0.3 * ry * uniform(0.8...1.2),
                    angle: -0.5 + uniform(-0.2...0.2), vertices: 18), parenchyma + uniform(0...0.05))
        }
        if chance(0.75) {
            for side in [-1.0, 1.0] where chance(0.9) {
                fill(
                    SyntheticShapes.ellipse(
                        centre: jittered(side * 0.45, 0.45), radiusX: 0.13 * rx * uniform(0.85...1.15),
                        radiusY: 0.21 * ry * uniform(0.85...1.15),
                        angle: -side * 0.35 + uniform(-0.15...0.15), vertices: 18), parenchyma + uniform(0.02...0.1))
            }
        }
        func hollow(centre: Point, radius: Double, vertices: Int) {
            // Gas inside a wall, fluid, or a collapsed loop of parenchyma's level.
            let outline = SyntheticShapes.blob(centre: centre, radius: radius, vertices: vertices, using: &generator)
            switch generator.nextUnitDouble() {
            case ..<0.3:
                fill(outline, parenchyma + uniform(-0.06...0))
                fill(
                    SyntheticShapes.ellipse(
                        centre: centre, radiusX: 0.45 * radius, radiusY: 0.4 * radius, angle: uniform(0...3.1)), 0.04,
                    textured: 0)
            case ..<0.65: fill(outline, uniform(0.36...0.45))
            default: fill(outline, parenchyma + uniform(-0.03...0.03))
            }
        }
        if chance(0.85) { hollow(centre: jittered(0.32, -0.6), radius: 0.2 * rx * uniform(0.8...1.2), vertices: 12) }
        for _ in 0..<(2 + uniformIndex(below: 4, using: &generator)) {
            hollow(
                centre: body(uniform(-0.5...0.6), uniform(-0.85 ... -0.45)), radius: w * uniform(0.03...0.06),
                vertices: 8 + uniformIndex(below: 4, using: &generator))
        }

        // The organ, built along an arch in its own frame (x along its axis, head at −L/2, y down).
        let size = generator.nextUnitDouble()
        let present = size >= AnatomyLayout.absentProbability
        let scale =
            size < AnatomyLayout.absentProbability + AnatomyLayout.smallProbability
            ? uniform(0.35...0.6) : uniform(0.85...1.15)
        let length = 0.3 * w * scale
        let head: Point = (-length / 2, uniform(0.02...0.12) * length)
        let tail: Point = (length / 2, uniform(-0.08...0.1) * length)
        let control: Point = (uniform(-0.12...0.12) * length, -2 * uniform(0.1...0.28) * length)
        func bezier(_ t: Double) -> Point {
            let a = (1 - t) * (1 - t)
            let b = 2 * (1 - t) * t
            let c = t * t
            return (a * head.x + b * control.x + c * tail.x, a * head.y + b * control.y + c * tail.y)
        }
        // `t` below is the fraction of the arch's length, so that lobes spaced evenly in `t` overlap.
        let samples = (0...64).map { bezier(Double($0) / 64) }
        var lengths = [0.0]
        for (p, q) in zip(samples, samples.dropFirst()) { lengths.append(lengths.last! + hypot(q.x - p.x, q.y - p.y)) }
        let archLength = lengths.last!
        func parameter(_ t: Double) -> Double {
            let target = min(max(t, 0), 1) * archLength
            let j = min(max((lengths.firstIndex { $0 >= target } ?? 64) - 1, 0), 63)
            let span = lengths[j + 1] - lengths[j]
            return (Double(j) + (span > 0 ? (target - lengths[j]) / span : 0)) / 64
        }
        func arch(_ t: Double) -> Point { bezier(parameter(t)) }
        func direction(_ t: Double) -> Double {
            let u = parameter(t)
            return atan2(
                2 * (1 - u) * (control.y - head.y) + 2 * u * (tail.y - control.y),
                2 * (1 - u) * (control.x - head.x) + 2 * u * (tail.x - control.x))
        }
        let headHalf = uniform(0.11...0.14) * length
        let tailHalf = uniform(0.065...0.085) * length
        func halfWidth(_ t: Double) -> Double { headHalf + (tailHalf - headHalf) * t }
        /// The point `across` pixels from the axis at `t`, towards the back (+y) for positive values.
        func beside(_ t: Double, _ across: Double) -> Point {
            let p = arch(t)
            let a = direction(t)
            return (p.x - sin(a) * across, p.y + cos(a) * across)
        }
        var lobes: [[Double]] = []
        let lobeCount = 5 + uniformIndex(below: 3, using: &generator)
        for index in 0..<lobeCount {
            let t = min(max((Double(index) + uniform(-0.1...0.1)) / Double(lobeCount - 1), 0), 1)
            lobes.append(
                SyntheticShapes.ellipse(
                    centre: beside(t, uniform(-0.2...0.2) * halfWidth(t)),
                    radiusX: archLength / Double(lobeCount - 1) * uniform(0.65...0.9),
                    radiusY: halfWidth(t) * uniform(0.85...1.15), angle: direction(t) + uniform(-0.15...0.15),
                    vertices: 16))
        }
        for _ in 0..<(1 + uniformIndex(below: 3, using: &generator)) {
            let t = uniform(0.1...0.9)
            let radius = halfWidth(t) * uniform(0.35...0.55)
            lobes.append(
                SyntheticShapes.ellipse(
                    centre: beside(t, (chance(0.5) ? 1 : -1) * halfWidth(t)), radiusX: radius,
                    radiusY: radius * uniform(0.7...1),
                    angle: direction(t), vertices: 12))
        }
        if chance(0.5) {
            lobes.append(
                SyntheticShapes.ellipse(
                    centre: (head.x + uniform(0.02...0.08) * length, head.y + uniform(0.08...0.14) * length),
                    radiusX: 0.08 * length, radiusY: 0.05 * length, angle: uniform(-0.6...0), vertices: 12))
        }

        // Placed so that the mask's centroid lands on the anchor plus the shift.
        let maximumShift = AnatomyLayout.maximumShift * w
        let target: Point = (
            AnatomyLayout.anchor.x * w + clippedNormal(maximumShift / 2, limit: maximumShift),
            AnatomyLayout.anchor.y * h + clippedNormal(maximumShift / 2, limit: maximumShift)
        )
        let angle = clippedNormal(4 * Double.pi / 180, limit: AnatomyLayout.maximumRotation)
        var origin = target
        func place(_ p: Point) -> Point {
            (origin.x + cos(angle) * p.x - sin(angle) * p.y, origin.y + sin(angle) * p.x + cos(angle) * p.y)
        }
        func placed(_ polygon: [Double]) -> [Double] {
            stride(from: 0, to: polygon.count, by: 2).flatMap { j -> [Double] in
                let p = place((polygon[j], polygon[j + 1]))
                return [p.x, p.y]
            }
        }
        func mask(_ polygons: [[Double]]) -> [UInt8] {
            var mask = [UInt8](repeating: 0, count: plane)
            mask.withUnsafeMutableBufferPointer { buffer in
                for polygon in polygons {
                    PolygonRasterizer.rle(polygon: polygon, height: height, width: width).paint(into: buffer)
                }
            }
            return mask
        }
        if present, let centroid = centroid(mask(lobes.map(placed)), width: width) {
            origin = (origin.x + target.x - centroid.x, origin.y + target.y - centroid.y)
        }
        let polygons = lobes.map { rounded(placed($0)) }

        // Vessels along the organ and the duodenum at its head, behind it in the painting order.
        if chance(0.6) {
            let vein = stride(from: 0.35, through: 0.95, by: 0.15).map { place(beside($0, halfWidth($0) + 0.6 * unit)) }
            for (p, q) in zip(vein, vein.dropFirst()) {
                fill(
                    SyntheticShapes.capsule(from: p, to: q, radius: 1.1 * unit * max(scale, 0.7)), uniform(0.66...0.74),
                    textured: 0.3)
            }
        }
        if chance(0.7) {
            let vein = place(beside(0.3, halfWidth(0.3) + 2.2 * unit))
            fill(
                SyntheticShapes.ellipse(centre: vein, radiusX: 2.2 * unit, radiusY: 2 * unit), uniform(0.66...0.74),
                textured: 0.3)
        }
        let organLevel = parenchyma + uniform(-0.02...0.02)
        if present, chance(0.35) {
            let radius = headHalf * uniform(0.9...1.3)
            fill(
                SyntheticShapes.ellipse(
                    centre: place((head.x - 0.8 * radius, head.y + uniform(-0.3...0.5) * radius)), radiusX: radius,
                    radiusY: radius * uniform(0.8...1.4),
                    angle: uniform(0...3.1)), organLevel + uniform(-0.02...0.02))
        }

        // The organ: its lobes' levels, a fading end or a low contrast.
        var objects: [Object] = []
        let fade: (towardsTail: Bool, depth: Double)? = chance(0.25) ? (chance(0.6), uniform(0.5...0.85)) : nil
        let contrast = chance(0.15) ? uniform(0.5...0.67) : 1
        if present {
            for polygon in polygons {
                let lobeLevel = organLevel + uniform(-0.02...0.02)
                PolygonRasterizer.rle(polygon: polygon, height: height, width: width).forEachCoveredPixel { i in
                    var weight = contrast
                    if let fade {
                        // Position along the axis, 0 at the head and 1 at the tail.
                        let dx = Double(i % width) - origin.x
                        let dy = Double(i / width) - origin.y
                        let t = min(max((cos(angle) * dx + sin(angle) * dy) / length + 0.5, 0), 1)
                        let s = min(max(((fade.towardsTail ? t : 1 - t) - 0.45) / 0.5, 0), 1)
                        weight *= 1 - fade.depth * s * s * (3 - 2 * s)
                    }
                    level[i] = fatLevel + (lobeLevel - fatLevel) * weight + 0.6 * (texture[i] + grain[i])
                }
            }
            let organ = mask(polygons)
            if organ.contains(1) {
                let segmentation: COCOManifest.Segmentation =
                    chance(0.7)
                    ? .rle(RunLengthEncoding(mask: organ, height: height, width: width).stored) : .polygons(polygons)
                objects.append(Object(categoryID: organID, segmentation: segmentation, isCrowd: 0, mask: organ))
            }
        }

        let noise = uniform(0.012...0.03)
        let canvas = level.map { SIMD3<Double>(repeating: $0) }
        return SyntheticScene(
            image: finished(canvas, width: width, height: height, noise: noise, using: &generator), objects: objects)
    }

    /// The mean column and row of a row-major mask's pixels; nil for an empty mask.
    private static func centroid(_ mask: [UInt8], width: Int) -> (x: Double, y: Double)? {
        var count = 0
        var sumX = 0
        var sumY = 0
        for i in mask.indices where mask[i] != 0 {
            count += 1
            sumX += i % width
            sumY += i / width
        }
        return count == 0 ? nil : (Double(sumX) / Double(count), Double(sumY) / Double(count))
    }

    /// Smooth random texture: normal deviates times `amplitude` on a grid of `cell`-pixel squares
    /// (drawn row by row), interpolated between grid points with a smoothstep.
    /// - Complexity: O(H · W).
    private static func valueNoise(
        width: Int, height: Int, cell: Double, amplitude: Double, using generator: inout SeededGenerator
    ) -> [Double] {
        let cell = max(cell, 1)
        let columns = Int(Double(width) / cell) + 2
        let rows = Int(Double(height) / cell) + 2
        var grid = [Double](repeating: 0, count: columns * rows)
        for i in grid.indices { grid[i] = amplitude * generator.nextNormal() }
        func smooth(_ f: Double) -> Double { f * f * (3 - 2 * f) }
        var noise = [Double](repeating: 0, count: width * height)
        for y in 0..<height {
            let gy = Double(y) / cell
            let row = Int(gy)
            let fy = smooth(gy - Double(row))
            for x in 0..<width {
                let gx = Double(x) / cell
                let column = Int(gx)
                let fx = smooth(gx - Double(column))
                let top = grid[row * columns + column] * (1 - fx) + grid[row * columns + column + 1] * fx
                let bottom = grid[(row + 1) * columns + column] * (1 - fx) + grid[(row + 1) * columns + column + 1] * fx
                noise[y * width + x] = top * (1 - fy) + bottom * fy
            }
        }
        return noise
    }
}

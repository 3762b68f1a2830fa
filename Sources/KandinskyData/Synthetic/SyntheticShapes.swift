import Foundation
import KandinskyCore

/// Polygon builders for the synthetic scenes, in pixel coordinates `[x0, y0, x1, y1, …]`.
enum SyntheticShapes {
    typealias Point = (x: Double, y: Double)

    /// A stadium (a segment thickened by `radius` with round ends), as 12 vertices.
    static func capsule(from p: Point, to q: Point, radius: Double) -> [Double] {
        let angle = atan2(q.y - p.y, q.x - p.x)
        var polygon: [Double] = []
        for (centre, start) in [(q, angle - .pi / 2), (p, angle + .pi / 2)] {
            for step in 0...5 {
                let a = start + Double(step) * .pi / 5
                polygon += [centre.x + radius * cos(a), centre.y + radius * sin(a)]
            }
        }
        return polygon
    }

    /// An ellipse rotated by `angle`, as `vertices` vertices.
    static func ellipse(centre: Point, radiusX: Double, radiusY: Double, angle: Double = 0, vertices: Int = 14)
        -> [Double]
    {
        var polygon: [Double] = []
        for step in 0..<vertices {
            let t = Double(step) * 2 * .pi / Double(vertices)
            let x = radiusX * cos(t)
            let y = radiusY * sin(t)
            polygon += [centre.x + x * cos(angle) - y * sin(angle), centre.y + x * sin(angle) + y * cos(angle)]
        }
        return polygon
    }

    /// A quadrilateral from a centre line `p → q` with half-widths `halfP` at `p` and `halfQ` at `q`.
    static func trapezoid(from p: Point, to q: Point, halfP: Double, halfQ: Double) -> [Double] {
        let length = max(hypot(q.x - p.x, q.y - p.y), 1e-9)
        let nx = -(q.y - p.y) / length
        let ny = (q.x - p.x) / length
        return [
            p.x + halfP * nx, p.y + halfP * ny, q.x + halfQ * nx, q.y + halfQ * ny,
            q.x - halfQ * nx, q.y - halfQ * ny, p.x - halfP * nx, p.y - halfP * ny,
        ]
    }

    /// A star-shaped blob: `vertices` points at random radii around `centre`.
    static func blob(centre: Point, radius: Double, vertices: Int, using generator: inout SeededGenerator) -> [Double] {
        var polygon: [Double] = []
        let phase = generator.nextUnitDouble() * 2 * .pi
        for step in 0..<vertices {
            let t = phase + Double(step) * 2 * .pi / Double(vertices)
            let r = radius * (0.55 + 0.45 * generator.nextUnitDouble())
            polygon += [centre.x + r * cos(t), centre.y + r * sin(t)]
        }
        return polygon
    }

    /// A person-like silhouette standing with its hip at `hip`, `height` pixels tall from head
    /// top to feet: head, neck, torso, two-segment arms and legs, with the pose drawn from
    /// `generator` (lean, arm swing and bend, leg spread and bend, sometimes sitting).
    static func person(hip: Point, height h: Double, using generator: inout SeededGenerator) -> [[Double]] {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let lean = uniform(-0.25...0.25)
        let up: Point = (sin(lean), -cos(lean))
        let across: Point = (cos(lean), sin(lean))
        func offset(_ p: Point, _ along: Double, _ side: Double) -> Point {
            (p.x + along * up.x + side * across.x, p.y + along * up.y + side * across.y)
        }
        func limb(_ start: Point, angle: Double, length: Double) -> Point {
            // `angle` is measured from straight down, positive towards +x.
            (start.x + length * sin(angle), start.y + length * cos(angle))
        }
        let build = uniform(0.85...1.2)
        let shoulder = offset(hip, 0.30 * h, 0)
        let neckTop = offset(shoulder, 0.06 * h, 0)
        let head = offset(shoulder, 0.13 * h, uniform(-0.01...0.01) * h)
        var parts: [[Double]] = [
            ellipse(centre: head, radiusX: 0.062 * h, radiusY: 0.075 * h, angle: lean),
            capsule(from: shoulder, to: neckTop, radius: 0.03 * h),
            trapezoid(from: offset(hip, -0.02 * h, 0), to: shoulder, halfP: 0.09 * h * build, halfQ: 0.12 * h * build),
        ]
        let sitting = generator.nextUnitDouble() < 0.12
        for side in [-1.0, 1.0] {
            let armRoot = offset(shoulder, -0.02 * h, side * 0.11 * h * build)
            let upperAngle = lean + side * uniform(0.08...1.5)
            let elbow = limb(armRoot, angle: upperAngle, length: 0.16 * h)
            let hand = limb(elbow, angle: upperAngle + side * uniform(-0.3...1.4), length: 0.15 * h)
            parts.append(capsule(from: armRoot, to: elbow, radius: 0.03 * h * build))
            parts.append(capsule(from: elbow, to: hand, radius: 0.026 * h * build))
            let legRoot = offset(hip, 0, side * 0.055 * h * build)
            let thighAngle = sitting ? side * uniform(1.2...1.5) : side * uniform(0...0.35)
            let knee = limb(legRoot, angle: thighAngle, length: sitting ? 0.2 * h : 0.25 * h)
            let shinAngle = sitting ? side * uniform(-0.2...0.3) : thighAngle + uniform(-0.35...0.35)
            let foot = limb(knee, angle: shinAngle, length: 0.24 * h)
            parts.append(capsule(from: legRoot, to: knee, radius: 0.042 * h * build))
            parts.append(capsule(from: knee, to: foot, radius: 0.034 * h * build))
        }
        return parts
    }
}

import Foundation
import KandinskyCore

/// The COCO-person-like frame of ``SyntheticDataset/Scene/person``.
///
/// What is drawn, back to front: a textured background (vertical two-colour gradient, a slanted
/// sinusoidal texture, sometimes a floor); 2–6 distractors of the second category (blobs, boxes,
/// ellipses and person-sized poles, half of them in the colours of the people's clothes); then
/// 1–4 person silhouettes (``SyntheticShapes/person(hip:height:using:)``) from far to near, with
/// hips drawn around the frame centre (a centre-biased prior, so people are sometimes cut by the
/// border), heights 35–95 % of the frame; sometimes a crowd of 3–5 small people. Edges are then
/// softened by a 3 × 3 binomial blur and pixel noise is added.
///
/// Annotations: people as polygons (rounded to 0.01 px, and the image is painted from exactly
/// those polygons), one in five as compressed RLE; crowds as compressed RLE with `iscrowd` 1;
/// distractors as compressed RLE of their visible pixels. Masks therefore match the painted
/// pixels exactly (before blurring).
extension SyntheticScene {
    static let personID = 1
    static let distractorID = 2

    static func person(width: Int, height: Int, using generator: inout SeededGenerator) -> SyntheticScene {
        var frame = PersonFrame(width: width, height: height)
        frame.paintBackground(using: &generator)
        // Clothing colours first, so that distractors can borrow them.
        let personCount = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4][uniformIndex(below: 10, using: &generator)]
        let clothing = (0..<personCount).map { _ in
            Clothing(
                top: PersonFrame.colour(using: &generator), bottom: PersonFrame.colour(using: &generator),
                skin: skinTone(generator.uniform(0...1)))
        }
        let distractorMasks = frame.paintDistractors(borrowingFrom: clothing, using: &generator)
        var objects = frame.paintPeople(dressedIn: clothing, after: distractorMasks.count, using: &generator)
        frame.paintCrowd(after: distractorMasks.count, into: &objects, using: &generator)
        objects += frame.visibleDistractors(distractorMasks)
        // Soften edges and add sensor noise.
        let noise = generator.uniform(0.005...0.025)
        return SyntheticScene(
            image: finished(frame.canvas, width: width, height: height, noise: noise, using: &generator),
            objects: objects)
    }

    /// The colours of one person: upper and lower clothes, skin.
    struct Clothing {
        var top, bottom, skin: SIMD3<Double>
    }

    /// Skin tones from dark to light.
    private static func skinTone(_ t: Double) -> SIMD3<Double> {
        SIMD3(0.36, 0.22, 0.15) * (1 - t) + SIMD3(0.96, 0.80, 0.69) * t
    }
}

/// The canvas of a person frame while it is painted, back to front: each pass below draws from
/// the generator in the order of the frame's description (``SyntheticScene/person(width:height:using:)``).
private struct PersonFrame {
    let width: Int, height: Int
    var canvas: [SIMD3<Double>]
    /// The object painted last at each pixel (distractors 0..<d, then people and the crowd), −1 for none.
    var owner: [Int32]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        canvas = [SIMD3<Double>](repeating: .zero, count: width * height)
        owner = [Int32](repeating: -1, count: width * height)
    }

    var plane: Int { width * height }

    /// A random colour, pulled 30 % towards its grey.
    static func colour(using generator: inout SeededGenerator) -> SIMD3<Double> {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let base = SIMD3(uniform(0.05...0.95), uniform(0.05...0.95), uniform(0.05...0.95))
        let grey = (base.x + base.y + base.z) / 3
        return base * 0.7 + SIMD3(repeating: grey * 0.3)
    }

    /// `c` shifted by up to `amount` per channel, clamped to [0, 1].
    static func jitter(_ c: SIMD3<Double>, _ amount: Double, using generator: inout SeededGenerator) -> SIMD3<Double> {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let shifted = c + SIMD3(uniform(-amount...amount), uniform(-amount...amount), uniform(-amount...amount))
        return shifted.clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
    }

    /// Paints the pixels of `polygons` in `c` (each pixel's brightness jittered), marks them as
    /// `ownerIndex`'s and sets them in `mask`.
    mutating func paint(
        _ polygons: [[Double]], colour c: SIMD3<Double>, ownerIndex: Int32, into mask: inout [UInt8],
        using generator: inout SeededGenerator
    ) {
        for polygon in polygons {
            PolygonRasterizer.rle(polygon: polygon, height: height, width: width).forEachCoveredPixel { i in
                canvas[i] = c * generator.uniform(0.93...1.0)
                owner[i] = ownerIndex
                mask[i] = 1
            }
        }
    }

    /// Background: a vertical two-colour gradient, a slanted sinusoidal texture, sometimes a floor.
    mutating func paintBackground(using generator: inout SeededGenerator) {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let h = Double(height)
        let top = Self.colour(using: &generator)
        let bottom = Self.colour(using: &generator)
        let frequency = uniform(0.05...0.4)
        let slant = uniform(-1...1)
        let amplitude = uniform(0...0.12)
        let phase = uniform(0...6.3)
        let floorLine = generator.nextUnitDouble() < 0.5 ? Int(h * uniform(0.55...0.8)) : height
        let floorColour = Self.colour(using: &generator)
        for y in 0..<height {
            let t = Double(y) / max(h - 1, 1)
            for x in 0..<width {
                let texture = amplitude * sin(frequency * (Double(x) + slant * Double(y)) + phase)
                var c = top * (1 - t) + bottom * t + SIMD3(repeating: texture)
                if y >= floorLine { c = c * 0.4 + floorColour * 0.6 }
                canvas[y * width + x] = c
            }
        }
    }

    /// Distractors of the second category, behind the people, half of them in the colours of
    /// `clothing`; returns each one's painted mask, in painting order.
    mutating func paintDistractors(
        borrowingFrom clothing: [SyntheticScene.Clothing],
        using generator: inout SeededGenerator
    ) -> [[UInt8]] {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let w = Double(width)
        let h = Double(height)
        var masks: [[UInt8]] = []
        let distractorCount = 2 + uniformIndex(below: 5, using: &generator)
        for index in 0..<distractorCount {
            let centre = (x: uniform(0...w), y: uniform(0.15 * h...h))
            let size = uniform(0.06...0.3) * min(w, h)
            let polygon: [Double]
            switch uniformIndex(below: 4, using: &generator) {
            case 0:
                polygon = SyntheticShapes.blob(
                    centre: centre, radius: size, vertices: 7 + uniformIndex(below: 6, using: &generator),
                    using: &generator)
            case 1:
                polygon = SyntheticShapes.trapezoid(
                    from: (centre.x, centre.y + size), to: (centre.x + uniform(-0.3...0.3) * size, centre.y - size),
                    halfP: size * uniform(0.3...1), halfQ: size * uniform(0.3...1))
            case 2:
                polygon = SyntheticShapes.ellipse(
                    centre: centre, radiusX: size, radiusY: size * uniform(0.4...1.2), angle: uniform(0...3.1))
            default:
                polygon = SyntheticShapes.capsule(
                    from: (centre.x, centre.y + 1.5 * size),
                    to: (centre.x + uniform(-0.1...0.1) * size, centre.y - 1.5 * size),
                    radius: size * uniform(0.15...0.3))
            }
            let borrowed = generator.nextUnitDouble() < 0.5
            let pick = clothing[uniformIndex(below: clothing.count, using: &generator)]
            let c =
                borrowed
                ? Self.jitter(generator.nextUnitDouble() < 0.5 ? pick.top : pick.bottom, 0.06, using: &generator)
                : Self.colour(using: &generator)
            var mask = [UInt8](repeating: 0, count: plane)
            paint(
                [SyntheticScene.rounded(polygon)], colour: c, ownerIndex: Int32(index), into: &mask, using: &generator)
            masks.append(mask)
        }
        return masks
    }

    /// People, far (higher in the frame) to near, with owners numbered after the `distractors`;
    /// returns the annotations of those left visible (one in five as compressed RLE).
    mutating func paintPeople(
        dressedIn clothing: [SyntheticScene.Clothing], after distractors: Int,
        using generator: inout SeededGenerator
    ) -> [SyntheticScene.Object] {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let w = Double(width)
        let h = Double(height)
        var objects: [SyntheticScene.Object] = []
        var people: [(hip: (x: Double, y: Double), height: Double, style: Int)] = (0..<clothing.count).map { index in
            let x = min(max(w / 2 + w * 0.2 * generator.nextNormal(), 0.08 * w), 0.92 * w)
            let y = min(max(h * 0.55 + h * 0.12 * generator.nextNormal(), 0.35 * h), 0.85 * h)
            return ((x, y), h * uniform(0.35...0.95), index)
        }
        people.sort { $0.hip.y + $0.height / 2 < $1.hip.y + $1.height / 2 }
        for person in people {
            let polygons = SyntheticShapes.person(hip: person.hip, height: person.height, using: &generator)
                .map(SyntheticScene.rounded)
            let style = clothing[person.style]
            var mask = [UInt8](repeating: 0, count: plane)
            let ownerIndex = Int32(distractors + objects.count)
            paint(Array(polygons[0...1]), colour: style.skin, ownerIndex: ownerIndex, into: &mask, using: &generator)
            paint(
                [polygons[2]] + [3, 4, 7, 8].map { polygons[$0] }, colour: style.top, ownerIndex: ownerIndex,
                into: &mask, using: &generator)
            paint(
                [5, 6, 9, 10].map { polygons[$0] }, colour: style.bottom, ownerIndex: ownerIndex, into: &mask,
                using: &generator)
            guard mask.contains(1) else { continue }
            let asRLE = generator.nextUnitDouble() < 0.2
            let segmentation: COCOManifest.Segmentation =
                asRLE ? .rle(RunLengthEncoding(mask: mask, height: height, width: width).stored) : .polygons(polygons)
            objects.append(
                SyntheticScene.Object(
                    categoryID: SyntheticScene.personID, segmentation: segmentation,
                    isCrowd: 0, mask: mask))
        }
        return objects
    }

    /// Sometimes (12 %) a crowd of 3–5 small people, appended to `objects` as one crowd region
    /// owned after the `distractors` and the objects so far.
    mutating func paintCrowd(
        after distractors: Int, into objects: inout [SyntheticScene.Object],
        using generator: inout SeededGenerator
    ) {
        func uniform(_ range: ClosedRange<Double>) -> Double { generator.uniform(range) }
        let w = Double(width)
        let h = Double(height)
        guard generator.nextUnitDouble() < 0.12 else { return }
        let count = 3 + uniformIndex(below: 3, using: &generator)
        let size = h * uniform(0.15...0.3)
        let baseY = h * uniform(0.45...0.75)
        let startX = uniform(0...(0.6 * w))
        var mask = [UInt8](repeating: 0, count: plane)
        let ownerIndex = Int32(distractors + objects.count)
        for member in 0..<count {
            let hip = (x: startX + Double(member) * size * uniform(0.3...0.5), y: baseY + uniform(-0.05...0.05) * h)
            let polygons = SyntheticShapes.person(hip: hip, height: size, using: &generator).map(SyntheticScene.rounded)
            paint(
                polygons, colour: Self.colour(using: &generator), ownerIndex: ownerIndex, into: &mask, using: &generator
            )
        }
        if mask.contains(1) {
            objects.append(
                SyntheticScene.Object(
                    categoryID: SyntheticScene.personID,
                    segmentation: .rle(RunLengthEncoding(mask: mask, height: height, width: width).stored), isCrowd: 1,
                    mask: mask))
        }
    }

    /// The distractors' annotations: only their pixels left visible, those with at least 4.
    func visibleDistractors(_ masks: [[UInt8]]) -> [SyntheticScene.Object] {
        var objects: [SyntheticScene.Object] = []
        for index in masks.indices {
            var visible = masks[index]
            var area = 0
            for i in 0..<plane {
                if owner[i] != Int32(index) { visible[i] = 0 }
                area += Int(visible[i])
            }
            guard area >= 4 else { continue }
            objects.append(
                SyntheticScene.Object(
                    categoryID: SyntheticScene.distractorID,
                    segmentation: .rle(RunLengthEncoding(mask: visible, height: height, width: width).stored),
                    isCrowd: 0, mask: visible))
        }
        return objects
    }
}

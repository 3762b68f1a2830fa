import KandinskyCore
import KandinskyData
import Testing

@Suite("Augmentation")
struct AugmentationTests {
    /// A 6 × 4 sample: image values encode their position, a person square at x 1...2, y 1...2.
    static let sample: SegmentationSample = {
        let image = Tensor(shape: [3, 4, 6], scalars: (0..<72).map { Float($0) / 72 })
        var target = [UInt8](repeating: 0, count: 48)
        for y in 1...2 { for x in 1...2 { target[24 + y * 6 + x] = 1 } }
        for i in 0..<24 { target[i] = 1 - target[24 + i] }
        return SegmentationSample(image: image, target: ShapedArray(shape: [2, 4, 6], scalars: target), imageID: 1)
    }()

    @Test("identity parameters change nothing")
    func identity() {
        let out = Augmentation().apply(.init(), to: Self.sample)
        #expect(out.image == Self.sample.image && out.target == Self.sample.target)
    }

    @Test("a flip mirrors image and target columns")
    func flip() {
        let out = Augmentation().apply(.init(flip: true), to: Self.sample)
        for c in 0..<3 {
            for y in 0..<4 { for x in 0..<6 { #expect(out.image[c, y, x] == Self.sample.image[c, y, 5 - x]) } }
        }
        for c in 0..<2 {
            for y in 0..<4 { for x in 0..<6 { #expect(out.target[c, y, x] == Self.sample.target[c, y, 5 - x]) } }
        }
    }

    @Test("an integer translation shifts image and target together, filling with zeros and background")
    func translation() {
        let out = Augmentation().apply(.init(translationX: 2, translationY: 1), to: Self.sample)
        for y in 0..<4 {
            for x in 0..<6 {
                let inside = x >= 2 && y >= 1
                #expect(out.image[1, y, x] == (inside ? Self.sample.image[1, y - 1, x - 2] : 0))
                let person: UInt8 = inside ? Self.sample.target[1, y - 1, x - 2] : 0
                #expect(out.target[1, y, x] == person && out.target[0, y, x] == 1 - person)
            }
        }
    }

    @Test("scaling by 2 about the centre magnifies: the centre pixel pair maps outwards")
    func scale() {
        // Centre c = (2.5, 1.5); output p = (1, 0) reads the input at c + (p − c) / 2 = (1.75, 0.75).
        let out = Augmentation().apply(.init(scale: 2), to: Self.sample)
        let expected =
            0.25 * 0.25 * Self.sample.image[0, 0, 1] + 0.75 * 0.25 * Self.sample.image[0, 0, 2]
            + 0.25 * 0.75 * Self.sample.image[0, 1, 1] + 0.75 * 0.75 * Self.sample.image[0, 1, 2]
        #expect(abs(out.image[0, 0, 1] - expected) < 1e-6)
    }

    @Test("parameters stay in range and repeat for a seed", arguments: [0, 1, 2, 3] as [UInt64])
    func parameters(seed: UInt64) {
        var a = SeededGenerator(seed: seed)
        var b = SeededGenerator(seed: seed)
        var flips = 0
        for _ in 0..<200 {
            let p = Augmentation().parameters(width: 320, height: 240, using: &a)
            #expect(p == Augmentation().parameters(width: 320, height: 240, using: &b))
            #expect(
                abs(p.angle) <= 5 * .pi / 180 && abs(p.translationX) <= 32 && abs(p.translationY) <= 24
                    && (0.8...1.2).contains(p.scale))
            #expect(p.translationX == p.translationX.rounded())
            if p.flip { flips += 1 }
        }
        #expect((60...140).contains(flips))
    }
}

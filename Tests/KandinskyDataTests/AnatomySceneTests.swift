import Foundation
import KandinskyCore
import KandinskyData
import KandinskyTestSupport
import Testing

@Suite("Synthetic anatomy scene")
struct AnatomySceneTests {
    static let small = SyntheticDataset(
        scene: .anatomy, trainCount: 12, validationCount: 2, calibrationCount: 6, testCount: 4, seed: 7)

    /// The organ's pixels in image `index` of `dataset`, as the loader builds its target.
    static func organPixels(_ dataset: COCODataset, _ index: Int) throws -> [(x: Int, y: Int)] {
        let target = try dataset.rawTarget(index)
        let width = target.shape[2]
        let plane = target.shape[1] * width
        let organ = target.scalars[plane..<(2 * plane)]
        return organ.indices.compactMap { i in organ[i] == 1 ? ((i - plane) % width, (i - plane) / width) : nil }
    }

    @Test("the same seed gives byte-identical files; another seed differs in every part")
    func determinism() throws {
        let (a, b, c) = try SyntheticDatasetTests.twiceAndReseeded(Self.small)
        #expect(a.count == 20 + 4 + 5)
        #expect(a == b)
        #expect(Set(a.keys) == Set(c.keys))
        for name in [
            "/trainval/labels.json", "/test/labels.json", "/trainval/data/000001.png", "/test/data/000004.png",
        ] {
            #expect(a[name] != nil && a[name] != c[name], "\(name)")
        }
    }

    @Test(
        "frames are grey PNGs of one size that reach the network unresized; the manifest reads back through the COCO loader"
    )
    func shapesAndManifest() throws {
        try withScratchDirectory("data") { root in
            let manifests = try Self.small.write(to: root)
            #expect(
                manifests.trainval.categories.map(\.name) == ["organ"] && manifests.trainval.categories.map(\.id) == [1]
            )
            let dims = ResizeAndPad(width: 128, height: 96)
            #expect(
                dims.placement(sourceWidth: 128, sourceHeight: 96) == .init(width: 128, height: 96, left: 0, top: 0))
            var kinds = Set<String>()
            var organs = 0
            let splits = ["train": 12, "val": 2, "cal": 6]
            for (name, count) in splits {
                let manifest = try COCOManifest.read(
                    contentsOf: root.appendingPathComponent("trainval/splits/t12/labels_\(name).json"))
                #expect(manifest.images.count == count, "\(name)")
            }
            for part in ["trainval", "test"] {
                let dataset = try COCODataset(
                    root: root.appendingPathComponent(part), categories: .names(["organ"]), dims: dims)
                let manifest = try COCOManifest.read(contentsOf: root.appendingPathComponent("\(part)/labels.json"))
                let byImage = manifest.annotationsByImage()
                for index in 0..<dataset.count {
                    let entry = dataset.images[index]
                    #expect(entry.width == 128 && entry.height == 96 && entry.fileName.hasSuffix(".png"))
                    let image = try dataset.rawImage(index)
                    #expect(image.width == 128 && image.height == 96)
                    let pixels = image.pixels
                    let grey = stride(from: 0, to: pixels.count, by: 3).allSatisfy { (i: Int) -> Bool in
                        pixels[i] == pixels[i + 1] && pixels[i] == pixels[i + 2]
                    }
                    #expect(grey, "image \(entry.id) is not grey")
                    // Air in the corner, the body in the middle.
                    let corner = Int(pixels[0])
                    let middle = Int(pixels[(48 * 128 + 64) * 3])
                    #expect(corner < 40 && middle > 40, "image \(entry.id): corner \(corner), middle \(middle)")
                    let sample = try dataset.sample(index)
                    #expect(sample.image.shape == [3, 96, 128] && sample.target.shape == [2, 96, 128])
                    #expect(
                        sample.target == (try dataset.rawTarget(index)), "the loader changed image \(entry.id)'s target"
                    )
                    let annotations = byImage[entry.id] ?? []
                    #expect(annotations.count <= 1 && annotations.allSatisfy { $0.categoryID == 1 && $0.isCrowd == 0 })
                    for annotation in annotations {
                        let mask = try COCOManifest.instanceMask(
                            of: annotation, height: 96, width: 128, file: "labels.json")
                        let area = mask.reduce(0) { $0 + Int($1) }
                        #expect(area > 0 && Double(area) == annotation.area, "annotation \(annotation.id)")
                        switch annotation.segmentation {
                        case .polygons(let polygons):
                            kinds.insert("polygons")
                            #expect(polygons.count >= 6)
                        case .rle(let stored): if case .compressed = stored.counts { kinds.insert("compressed RLE") }
                        }
                        // Elongated along x, and a few per cent of the frame.
                        let pixels = try Self.organPixels(dataset, index)
                        let xs = pixels.map(\.x)
                        let ys = pixels.map(\.y)
                        let extent = (x: xs.max()! - xs.min()! + 1, y: ys.max()! - ys.min()! + 1)
                        #expect(
                            annotation.bbox == [
                                Double(xs.min()!), Double(ys.min()!), Double(extent.x), Double(extent.y),
                            ])
                        // A disc has extent² ≈ 1.3 · area; the organ's is about 6 times its area.
                        if area > 150 {
                            #expect(
                                extent.x >= extent.y && extent.x * extent.x > 3 * area,
                                "annotation \(annotation.id) spans \(extent) with area \(area)")
                        }
                        #expect(area < 128 * 96 / 12)
                        // The organ's grey level is parenchyma's (about 0.57), not fat's, air's or bone's.
                        let mean =
                            Double(pixels.reduce(0) { $0 + Int(image.pixels[($1.y * 128 + $1.x) * 3]) }) / Double(area)
                            / 255
                        #expect(mean > 0.35 && mean < 0.75, "annotation \(annotation.id) has mean grey level \(mean)")
                        organs += 1
                    }
                }
            }
            #expect(kinds == ["polygons", "compressed RLE"])
            #expect(organs >= 20)
        }
    }

    @Test("over 200 frames the organ's centroid, measured on the loaded masks, moves only by the configured shift")
    func positionStatistics() throws {
        try withScratchDirectory("data") { root in
            let dataset = SyntheticDataset(
                scene: .anatomy, trainCount: 200, validationCount: 0, calibrationCount: 0, testCount: 0, seed: 3)
            try dataset.write(to: root)
            let frames = try COCODataset(
                root: root.appendingPathComponent("trainval"), categories: .names(["organ"]),
                dims: ResizeAndPad(width: 128, height: 96))
            let anchor = (x: AnatomyLayout.anchor.x * 128, y: AnatomyLayout.anchor.y * 96)
            let shift = AnatomyLayout.maximumShift * 128
            var centroids: [(x: Double, y: Double)] = []
            var areas: [Int] = []
            for index in 0..<frames.count {
                let pixels = try Self.organPixels(frames, index)
                guard !pixels.isEmpty else { continue }
                centroids.append(
                    (
                        Double(pixels.reduce(0) { $0 + $1.x }) / Double(pixels.count),
                        Double(pixels.reduce(0) { $0 + $1.y }) / Double(pixels.count)
                    ))
                areas.append(pixels.count)
            }
            // Absent organs are rare (3 % expected) but happen; small ones too.
            #expect(centroids.count >= 185 && centroids.count < 200)
            let sortedAreas = areas.sorted()
            #expect(sortedAreas[0] < sortedAreas[sortedAreas.count / 2] / 2, "no small organ among \(areas.count)")
            // Placement puts the centroid within a rasterisation step of anchor + shift.
            for (index, centroid) in centroids.enumerated() {
                #expect(
                    abs(centroid.x - anchor.x) <= shift + 0.75 && abs(centroid.y - anchor.y) <= shift + 0.75,
                    "organ \(index) has its centroid at \(centroid)")
            }
            for (axis, values) in [("x", centroids.map(\.x)), ("y", centroids.map(\.y))] {
                let mean = values.reduce(0, +) / Double(values.count)
                let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1))
                    .squareRoot()
                // Shifts are normal with standard deviation shift / 2 = 1.92 px, clipped at shift
                // (1.7 px after clipping): the mean's standard error is about 0.13 px.
                #expect(abs(mean - (axis == "x" ? anchor.x : anchor.y)) < 0.6, "mean \(axis) \(mean)")
                #expect(deviation > 1.2 && deviation < 2.4, "standard deviation of \(axis) \(deviation)")
            }
        }
    }

    @Test("without a size the scene's own is used; a given size is every frame's size")
    func sizes() throws {
        #expect(SyntheticDataset(scene: .anatomy).width == 128 && SyntheticDataset(scene: .anatomy).height == 96)
        #expect(
            SyntheticDataset().width == 160 && SyntheticDataset().height == 120 && SyntheticDataset().scene == .person)
        try withScratchDirectory("data") { root in
            let manifests = try SyntheticDataset(
                scene: .anatomy, trainCount: 3, validationCount: 0, calibrationCount: 0, testCount: 1, width: 64,
                height: 80, seed: 1
            ).write(to: root)
            #expect(
                (manifests.trainval.images + manifests.test.images).allSatisfy { $0.width == 64 && $0.height == 80 })
        }
    }
}

import Foundation
import KandinskyCore
import KandinskyData
import KandinskyTestSupport
import Testing

/// A small COCO root on disk: `count` solid-colour images of 8 × 6 with one square person each.
struct TemporaryCOCORoot {
    let root: URL
    var manifest: COCOManifest

    /// Runs `body` with a root of `count` images, removed afterwards; `body` may edit the
    /// manifest (and write it back) for its own test.
    static func with(count: Int = 6, _ body: (inout TemporaryCOCORoot) throws -> Void) throws {
        try withScratchDirectory("data") { root in
            var coco = try TemporaryCOCORoot(in: root, count: count)
            try body(&coco)
        }
    }

    private init(in root: URL, count: Int) throws {
        self.root = root
        var images: [COCOManifest.Image] = []
        var annotations: [COCOManifest.Annotation] = []
        for id in 1...count {
            let name = id % 2 == 0 ? "\(id).png" : "\(id).jpg"
            let pixels = [UInt8](repeating: UInt8(id * 20), count: 8 * 6 * 3)
            let data =
                id % 2 == 0
                ? PNGImage.encode(rgb8: pixels, width: 8, height: 6)
                : JPEGImage.encode(rgb8: pixels, width: 8, height: 6)
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
            try data.write(to: root.appendingPathComponent("data/\(name)"))
            images.append(.init(id: id, fileName: name, width: 8, height: 6))
            annotations.append(
                .init(id: 100 + id, imageID: id, categoryID: 1, segmentation: .polygons([[1, 1, 5, 1, 5, 4, 1, 4]])))
        }
        manifest = COCOManifest(
            images: images, annotations: annotations,
            categories: [.init(id: 1, name: "person"), .init(id: 2, name: "clutter")])
        try manifest.write(to: root.appendingPathComponent("labels.json"))
    }

    func dataset(dims: ResizeAndPad = ResizeAndPad(width: 8, height: 8)) throws -> COCODataset {
        try COCODataset(root: root, dims: dims)
    }

    func corrupt(_ fileName: String, with data: Data) throws {
        try data.write(to: root.appendingPathComponent("data/\(fileName)"))
    }
}

@Suite("Loading")
struct LoadingTests {
    @Test("a COCO sample is the resized, padded image and its target")
    func sample() throws {
        try TemporaryCOCORoot.with { coco in
            let dataset = try coco.dataset()
            #expect(dataset.count == 6 && dataset.channelCount == 2)
            let sample = try dataset.sample(1)  // image 2: PNG, exact value 40
            #expect(sample.imageID == 2)
            #expect(sample.image.shape == [3, 8, 8] && sample.target.shape == [2, 8, 8])
            // 8 × 6 in 8 × 8: no resize, top padding 1.
            #expect(
                sample.image[0, 0, 0] == 0 && sample.image[0, 1, 0] == Float(40) / 255
                    && sample.image[2, 6, 7] == Float(40) / 255 && sample.image[1, 7, 3] == 0)
            // The square [1, 5) × [1, 4) in pycocotools' rasterisation covers columns 1...4 and rows 1...3, shifted down by
            // 1.
            var person: [Int] = []
            for y in 0..<8 { for x in 0..<8 where sample.target[1, y, x] == 1 { person.append(y * 8 + x) } }
            #expect(person == [2, 3, 4].flatMap { y in [1, 2, 3, 4].map { y * 8 + $0 } })
            for y in 0..<8 { for x in 0..<8 { #expect(sample.target[0, y, x] == 1 - sample.target[1, y, x]) } }
        }
    }

    @Test("the loader shuffles per epoch with a seed, prefetches, and covers every sample once")
    func loader() throws {
        try TemporaryCOCORoot.with(count: 7) { coco in
            let dataset = try coco.dataset()
            let loader = BatchLoader(dataset: dataset, batchSize: 3, seed: 5)
            #expect(loader.order(epoch: 0) == BatchLoader(dataset: dataset, batchSize: 3, seed: 5).order(epoch: 0))
            #expect(loader.order(epoch: 0) != loader.order(epoch: 1))
            var epoch = loader.epoch(0)
            var seen: [Int] = []
            var sizes: [Int] = []
            while let batch = try epoch.next() {
                #expect(batch.images.shape == [batch.count, 3, 8, 8] && batch.targets.shape == [batch.count, 2, 8, 8])
                for (i, index) in batch.indices.enumerated() {
                    let single = try dataset.sample(index)
                    #expect(Array(batch.images.scalars[(i * 192)..<((i + 1) * 192)]) == single.image.scalars)
                    #expect(batch.imageIDs[i] == single.imageID)
                }
                seen += batch.indices
                sizes.append(batch.count)
            }
            #expect(seen == loader.order(epoch: 0))
            #expect(sizes == [3, 3, 1])
            #expect(BatchLoader(dataset: dataset, batchSize: 3, shuffle: false).order(epoch: 3) == Array(0..<7))
        }
    }

    @Test("augmented batches are identical for a seed")
    func augmentedDeterminism() throws {
        try TemporaryCOCORoot.with { coco in
            let dataset = try coco.dataset()
            func firstBatch() throws -> SegmentationBatch? {
                var epoch = BatchLoader(dataset: dataset, batchSize: 4, seed: 9, augmentation: Augmentation()).epoch(2)
                return try epoch.next()
            }
            let a = try #require(try firstBatch())
            let b = try #require(try firstBatch())
            #expect(a.images == b.images && a.targets == b.targets)
        }
    }

    @Test("calTrim draws a seeded subset without replacement")
    func calTrim() throws {
        try TemporaryCOCORoot.with(count: 10) { coco in
            let dataset = try coco.dataset()
            var g1 = SeededGenerator(seed: 3)
            var g2 = SeededGenerator(seed: 3)
            let subset = dataset.randomSubset(count: 4, using: &g1)
            #expect(subset.count == 4 && Set(subset.images.map(\.id)).count == 4)
            #expect(subset.images == dataset.randomSubset(count: 4, using: &g2).images)
            #expect(dataset.randomSubset(count: 50, using: &g1).count == 10)
        }
    }

    @Test("the loader fails fast on a bad sample by default, or skips and reports it")
    func badSamples() throws {
        try TemporaryCOCORoot.with { coco in
            try coco.corrupt("3.jpg", with: Data("not an image".utf8))
            let dataset = try coco.dataset()
            var strict = BatchLoader(dataset: dataset, batchSize: 2, shuffle: false).epoch(0)
            _ = try strict.next()
            let error = #expect(throws: DataError.self) { _ = try strict.next() }
            #expect(error?.kind == .undecodableImage && error?.file.hasSuffix("3.jpg") == true)

            let lenient = BatchLoader(dataset: dataset, batchSize: 2, shuffle: false, skipBadSamples: true)
            var epoch = lenient.epoch(0)
            var total = 0
            while let batch = try epoch.next() { total += batch.count }
            #expect(total == 5)
            #expect(lenient.skipped.map(\.file).count == 1 && lenient.skipped[0].file.hasSuffix("3.jpg"))
        }
    }
}

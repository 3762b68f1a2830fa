import Foundation
import KandinskyCore
import KandinskyData

/// Megabytes per second to decode a synthetic COCO manifest shaped like COCO's person subset
/// (many polygon coordinates with two decimals, a few RLE crowd regions, `info` and `licenses`
/// kept as read), median of 7 rounds, single-threaded; and to write it back.
func runManifestBenchmarks() throws {
    var generator = SeededGenerator(seed: 2024)
    let imageCount = 2_000
    let annotationsPerImage = 8
    let rounds = 7
    let images = (0..<imageCount).map { index in
        COCOManifest.Image(
            id: index + 1, fileName: String(format: "%012d.jpg", index + 1), width: 640, height: 480,
            extra: ["license": .integer(index % 7), "coco_url": .string("http://images/\(index + 1).jpg")])
    }
    var annotations: [COCOManifest.Annotation] = []
    for image in images {
        for part in 0..<annotationsPerImage {
            let segmentation: COCOManifest.Segmentation
            if part == 0, image.id % 10 == 0 {
                segmentation = .rle(
                    RunLengthEncoding.Stored(size: [480, 640], counts: .uncompressed([1000, 200, 480 * 640 - 1200])))
            } else {
                let polygon = (0..<60).map { _ in (generator.nextUnitDouble() * 48_000).rounded() / 100 }
                segmentation = .polygons([polygon])
            }
            annotations.append(
                COCOManifest.Annotation(
                    id: annotations.count + 1, imageID: image.id, categoryID: 1,
                    segmentation: segmentation, isCrowd: part == 0 && image.id % 10 == 0 ? 1 : 0,
                    area: 1234.5, bbox: [10.25, 20.5, 100, 200]))
        }
    }
    let manifest = COCOManifest(
        images: images, annotations: annotations,
        categories: [.init(id: 1, name: "person", extra: ["supercategory": .string("person")])],
        extra: ["info": .object(["year": .integer(2017), "version": .string("1.0")]), "licenses": .array([])])
    let data = manifest.encoded()
    let megabytes = Double(data.count) / 1e6

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    var reads: [Double] = []
    var writes: [Double] = []
    for _ in 0..<rounds {
        reads.append(
            try seconds {
                let decoded = try COCOManifest.decode(data, file: "benchmark.json")
                precondition(decoded == manifest, "the manifest did not survive a round trip")
            })
        writes.append(seconds { precondition(manifest.encoded().count == data.count) })
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    print(
        String(
            format: "COCO manifest, %.1f MB (%d images, %d annotations): read median %.1f MB/s, write median %.1f MB/s",
            megabytes, imageCount, annotations.count, megabytes / median(reads), megabytes / median(writes)))
}

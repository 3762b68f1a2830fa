import KandinskyCore
import Testing

@testable import KandinskyCalibration

@Suite struct KMeansTests {
    @Test func separatesWellSeparatedBlobs() {
        // Three tight blobs around (0, 0), (10, 0) and (0, 10); points listed blob by blob.
        var generator = SeededGenerator(seed: 7)
        let centres: [(Float, Float)] = [(10, 0), (0, 0), (0, 10)]
        var values: [Float] = []
        for (x, y) in centres {
            for _ in 0..<30 {
                values.append(x + 0.3 * Float(generator.nextNormal()))
                values.append(y + 0.3 * Float(generator.nextNormal()))
            }
        }
        let result = KMeans(clusterCount: 3).fit(Tensor(shape: [90, 2], scalars: values), using: &generator)
        // Renumbered by centre coordinate sum: (0,0) → 0, then (10,0) and (0,10) tie at ~10, order by sum.
        for blob in 0..<3 {
            let labels = Set(result.labels[(blob * 30)..<(blob * 30 + 30)])
            #expect(labels.count == 1, "blob \(blob) split over \(labels)")
        }
        #expect(Set(result.labels).count == 3)
        #expect(result.labels[30] == 0, "the blob at the origin has the smallest centre sum")
        let origin = result.centroids[0]
        #expect(abs(origin[0]) < 0.3 && abs(origin[1]) < 0.3)
        // Inertia: about 90 points × 2 dimensions × 0.09 variance.
        #expect(result.inertia > 8 && result.inertia < 25)
    }

    @Test func sameSeedSameClusters() {
        var a = SeededGenerator(seed: 3)
        var b = SeededGenerator(seed: 3)
        var data = SeededGenerator(seed: 1)
        let points = Tensor.uniform([200, 4], using: &data)
        #expect(KMeans(clusterCount: 4).fit(points, using: &a) == KMeans(clusterCount: 4).fit(points, using: &b))
    }

    @Test func handlesFewerDistinctPointsThanClusters() {
        var generator = SeededGenerator(seed: 0)
        let points = Tensor(shape: [6, 1], scalars: [1, 1, 1, 5, 5, 5])
        let result = KMeans(clusterCount: 4).fit(points, using: &generator)
        #expect(result.labels[0] == result.labels[2] && result.labels[3] == result.labels[5])
        #expect(result.labels[0] != result.labels[3])
        #expect(result.inertia == 0)
    }

    @Test func groupingPutsPixelsWithoutCurvesInTheirOwnGroupWithNaNCurves() throws {
        // Class 1 occurs only in the left column of a 2 × 3 image; two feature levels separate
        // the rows (scores ≈ 0.1 on top, ≈ 0.8 below).
        let n = 20
        var p = [Float](repeating: 0.5, count: n * 2 * 6)
        var t = [UInt8](repeating: 0, count: n * 2 * 6)
        for image in 0..<n {
            for pixel in 0..<6 {
                t[(image * 2) * 6 + pixel] = 1
                if pixel % 3 == 0 {
                    t[(image * 2 + 1) * 6 + pixel] = 1
                    p[(image * 2 + 1) * 6 + pixel] = (pixel < 3 ? 0.9 : 0.2) - Float(image) * 0.001
                }
            }
        }
        let curves = try Calibrator(
            grouping: KMeansGrouping(classes: [1], clusterCount: 2, curvePoints: [2, 7]), levelCount: 10,
            rule: .linear
        )
        .calibrate(
            probabilities: Tensor(shape: [n, 2, 2, 3], scalars: p),
            targets: ShapedArray(shape: [n, 2, 2, 3], scalars: t))
        let labels = try #require(curves.groups.labels[1])
        #expect(curves.groups.groupCounts[1] == 3)
        #expect(labels.scalars == [0, 2, 2, 1, 2, 2])
        #expect(curves.groupSampleCounts[1] == [n, n, 0])
        #expect(curves.curves[5, 1, 0, 1].isNaN)
        #expect(curves.groups.labels[0] == nil)
        // The top-left cluster's curve is the pixelwise curve of its only pixel: its largest
        // score is that of the last image.
        #expect(curves.curves[9, 1, 0, 0] == Float(Float16(1 - (Float(0.9) - Float(19) * 0.001))))
    }

    @Test func rejectsBadParameters() throws {
        let p = Tensor(shape: [2, 2, 1, 1], repeating: 0.5)
        let t = ShapedArray<UInt8>(shape: [2, 2, 1, 1], repeating: 1)
        expectCalibrationError(.classIndexOutOfRange, mentioning: "class index 2") {
            try Calibrator(grouping: KMeansGrouping(classes: [2])).calibrate(probabilities: p, targets: t)
        }
        expectCalibrationError(.invalidParameter, mentioning: "0..<100", "[60, 100]") {
            try Calibrator(grouping: KMeansGrouping(curvePoints: [60, 100]), levelCount: 100).calibrate(
                probabilities: p, targets: t)
        }
    }
}

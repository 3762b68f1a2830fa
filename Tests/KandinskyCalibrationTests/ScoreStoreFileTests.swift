import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// `.kscores` files: round trips, refusals, and merged parts against the store of all images,
/// down to the calibrated curves of every built-in grouping under both rules.
@Suite struct ScoreStoreFileTests {
    /// A three-class calibration set of `n` images with spatially varying probabilities.
    static func store(images range: Range<Int>, of n: Int, precision: ScorePrecision = .float, seed: UInt64 = 7) throws
        -> ScoreStore
    {
        let (c, h, w) = (3, 6, 7)
        var generator = SeededGenerator(seed: seed)
        var p = [Float]()
        var t = [UInt8]()
        for image in 0..<n {
            var labels = [Int]()
            for pixel in 0..<(h * w) {
                labels.append(Int(generator.next() % UInt64(c)) == 0 && pixel % 3 == 0 ? 0 : (pixel + image) % c)
            }
            var planes = [[Float]](repeating: [], count: c)
            for pixel in 0..<(h * w) {
                let u = (0..<c).map { k in
                    generator.nextUnitFloat() + (labels[pixel] == k ? 1.5 : 0) * Float(pixel % w) / Float(w)
                }
                let total = u.reduce(0, +)
                for k in 0..<c { planes[k].append(u[k] / total) }
            }
            guard range.contains(image) else { continue }
            for k in 0..<c {
                p += planes[k]
                t += labels.map { $0 == k ? 1 : 0 }
            }
        }
        let count = range.count
        return try ScoreStore(
            probabilities: Tensor(shape: [count, c, h, w], scalars: p),
            targets: ShapedArray(shape: [count, c, h, w], scalars: t), precision: precision)
    }

    /// The parts of `sizes` consecutive images written, merged and read back.
    static func merged(sizes: [Int], precision: ScorePrecision = .float, in directory: URL) throws -> ScoreStore {
        let n = sizes.reduce(0, +)
        var start = 0
        var urls: [URL] = []
        for (k, size) in sizes.enumerated() {
            let url = directory.appendingPathComponent("part-\(k).kscores")
            try store(images: start..<(start + size), of: n, precision: precision).write(to: url)
            urls.append(url)
            start += size
        }
        let out = directory.appendingPathComponent("all.kscores")
        try ScoreStore.merge(urls, to: out)
        return try ScoreStore.read(contentsOf: out)
    }

    @Test func roundTripsBitForBit() throws {
        let directory = try scratchDirectory("kscores")
        defer { try? FileManager.default.removeItem(at: directory) }
        for precision in [ScorePrecision.float, .halfProbabilities] {
            let store = try Self.store(images: 0..<5, of: 5, precision: precision)
            let url = directory.appendingPathComponent("s.kscores")
            try store.write(to: url)
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
            #expect(size == 56 + 4 * 3 * 6 * 7 + 6 * store.scoreCount + (store.scoreCount % 2 == 1 ? 2 : 0))
            expectIdentical(try ScoreStore.read(contentsOf: url), store, "\(precision)")
        }
    }

    @Test func mergedPartsAreTheStoreOfAllImages() throws {
        let directory = try scratchDirectory("kscores")
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try Self.store(images: 0..<12, of: 12)
        for sizes in [[12], [1, 11], [5, 7], [3, 3, 3, 3], [2, 1, 6, 3]] {
            expectIdentical(try Self.merged(sizes: sizes, in: directory), whole, "parts \(sizes)")
        }
    }

    @Test(arguments: GroupingSpecification.Method.allCases, [QuantileRule.conformal, .linear])
    func curvesFromMergedPartsEqualCurvesFromAllImages(method: GroupingSpecification.Method, rule: QuantileRule) throws
    {
        let directory = try scratchDirectory("kscores")
        defer { try? FileManager.default.removeItem(at: directory) }
        var specification = GroupingSpecification(method: method)
        switch specification {
        case .pixel, .image:
            break
        case .kmeans(var parameters):
            (parameters.clusterCount, parameters.curvePoints, parameters.restarts) = (3, [6, 7, 8, 9], 2)
            specification = .kmeans(parameters)
        case .genAnn(var parameters):
            (parameters.curvePoints, parameters.populationSize, parameters.maxGenerations) = ([6, 7, 8, 9], 6, 3)
            parameters.searchSampleSize = 64
            parameters.bounds = [[-2, 2], [-2, 2], [0, 4], [0, 4], [0, 8]]
            specification = .genAnn(parameters)
        }
        let grouping = specification.makeGrouping()
        let whole = try grouping.calibrate(try Self.store(images: 0..<12, of: 12), levelCount: 11, rule: rule, seed: 3)
        for sizes in [[4, 8], [2, 1, 6, 3]] {
            let merged = try grouping.calibrate(
                try Self.merged(sizes: sizes, in: directory), levelCount: 11, rule: rule, seed: 3)
            #expect(
                merged.curves.map(\.bitPattern) == whole.curves.map(\.bitPattern),
                "\(method) \(rule) parts \(sizes): curves")
            #expect(
                merged.groups == whole.groups && merged.groupSampleCounts == whole.groupSampleCounts
                    && merged.groupImageCounts == whole.groupImageCounts
                    && merged.calibrationImageCount == whole.calibrationImageCount,
                "\(method) \(rule) parts \(sizes): groups")
        }
    }

    @Test func refusesPartsThatDisagree() throws {
        let directory = try scratchDirectory("kscores")
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = directory.appendingPathComponent("a.kscores")
        let b = directory.appendingPathComponent("b.kscores")
        try Self.store(images: 0..<2, of: 2).write(to: a)
        try Self.store(images: 0..<2, of: 2, precision: .halfProbabilities).write(to: b)
        let error = #expect(throws: FileFormatError.self) {
            try ScoreStore.merge([a, b], to: directory.appendingPathComponent("c.kscores"))
        }
        #expect(error?.file == b.path && error?.field == "precision", "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("c.kscores").path))
    }

    @Test func refusesMalformedFilesNamingTheField() throws {
        let directory = try scratchDirectory("kscores")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("s.kscores")
        try Self.store(images: 0..<2, of: 2).write(to: url)
        let valid = Array(try Data(contentsOf: url))
        func field(after change: (inout [UInt8]) -> Void) -> String? {
            var bytes = valid
            change(&bytes)
            try! Data(bytes).write(to: url)
            do {
                _ = try ScoreStore.read(contentsOf: url)
                return nil
            } catch { return error.field }
        }
        #expect(field { $0[0] = UInt8(ascii: "X") } == "magic")
        #expect(field { $0[8] = 2 } == "version")
        #expect(field { $0[12] = 5 } == "precision")
        #expect(field { $0[16 + 7] = 0xFF } == "N")  // N far beyond the file's length
        #expect(field { $0[48] &+= 1 } == "S")  // one score more than the file holds
        #expect(field { $0.removeLast() } == "S")
        #expect(field { $0[56] = 9 } == "counts[0]")  // a row of more than N scores
        #expect(field { $0[56] = $0[56] == 0 ? 1 : 0 } == "counts")
        let header = ScoreFile.Header(of: try Self.store(images: 0..<2, of: 2))
        #expect(field { $0[header.imagesOffset] = 7 } == "images")  // image 7 of 2
        #expect(field { $0[header.valuesOffset + 1] = 0x7E } == "scores")  // NaN
        #expect(field { $0.removeAll() } == "header")
    }
}

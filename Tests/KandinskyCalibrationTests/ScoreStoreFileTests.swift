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
    static func merged(
        sizes: [Int], precision: ScorePrecision = .float, blockRows: Int = 4096, in directory: URL
    ) throws -> ScoreStore {
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
        try ScoreStore.merge(urls, to: out, blockRows: blockRows)
        return try ScoreStore.read(contentsOf: out)
    }

    /// Each method with parameters small enough for the 6 × 7 test images and a quick search.
    static func smallSpecification(_ method: GroupingSpecification.Method) -> GroupingSpecification {
        switch GroupingSpecification(method: method) {
        case .kmeans(var parameters):
            (parameters.clusterCount, parameters.curvePoints, parameters.restarts) = (3, [6, 7, 8, 9], 2)
            return .kmeans(parameters)
        case .genAnn(var parameters):
            (parameters.curvePoints, parameters.populationSize, parameters.maxGenerations) = ([6, 7, 8, 9], 6, 3)
            parameters.searchSampleSize = 64
            parameters.bounds = [[-2, 2], [-2, 2], [0, 4], [0, 4], [0, 8]]
            return .genAnn(parameters)
        case let other:
            return other
        }
    }

    /// Expects the same curves (bit patterns) and groups, with the same counts.
    static func expectSameCalibration(
        _ actual: CalibratedCurves, _ expected: CalibratedCurves, _ comment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            actual.curves.map(\.bitPattern) == expected.curves.map(\.bitPattern), "\(comment): curves",
            sourceLocation: sourceLocation)
        #expect(
            actual.groups == expected.groups && actual.groupSampleCounts == expected.groupSampleCounts
                && actual.groupImageCounts == expected.groupImageCounts
                && actual.calibrationImageCount == expected.calibrationImageCount,
            "\(comment): groups", sourceLocation: sourceLocation)
    }

    @Test func roundTripsBitForBit() throws {
        try withScratchDirectory("kscores") { directory in
            for precision in [ScorePrecision.float, .halfProbabilities] {
                let store = try Self.store(images: 0..<5, of: 5, precision: precision)
                let url = directory.appendingPathComponent("s.kscores")
                try store.write(to: url)
                let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
                #expect(size == 56 + 4 * 3 * 6 * 7 + 6 * store.scoreCount + (store.scoreCount % 2 == 1 ? 2 : 0))
                expectIdentical(try ScoreStore.read(contentsOf: url), store, "\(precision)")
                let mapped = try ScoreStore(mapping: url, residentBudget: 1)
                #expect(mapped.isMemoryMapped && !store.isMemoryMapped)
                expectIdentical(mapped, store, "\(precision), mapped")
                let selection = [4, 0, 2]
                expectIdentical(
                    try mapped.selectingImages(selection), store.images(selection), "\(precision) selection")
            }
            // Each selection's file is unlinked once mapped: only the store's own file remains.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["s.kscores"])
        }
    }

    @Test func mergedPartsAreTheStoreOfAllImages() throws {
        try withScratchDirectory("kscores") { directory in
            let whole = try Self.store(images: 0..<12, of: 12)
            for sizes in [[12], [1, 11], [5, 7], [3, 3, 3, 3], [2, 1, 6, 3]] {
                expectIdentical(try Self.merged(sizes: sizes, in: directory), whole, "parts \(sizes)")
            }
            // Blocks of one row, of a few rows and of a number of rows that does not divide C·H·W.
            for blockRows in [1, 5, 31] {
                expectIdentical(
                    try Self.merged(sizes: [2, 1, 6, 3], blockRows: blockRows, in: directory), whole,
                    "blocks of \(blockRows) rows")
            }
        }
    }

    @Test(arguments: GroupingSpecification.Method.allCases, [QuantileRule.conformal, .linear])
    func curvesFromMergedPartsEqualCurvesFromAllImages(method: GroupingSpecification.Method, rule: QuantileRule) throws
    {
        try withScratchDirectory("kscores") { directory in
            let grouping = Self.smallSpecification(method).makeGrouping()
            let whole = try grouping.calibrate(
                try Self.store(images: 0..<12, of: 12), levelCount: 11, rule: rule, seed: 3)
            for sizes in [[4, 8], [2, 1, 6, 3]] {
                let merged = try grouping.calibrate(
                    try Self.merged(sizes: sizes, in: directory), levelCount: 11, rule: rule, seed: 3)
                Self.expectSameCalibration(merged, whole, "\(method) \(rule) parts \(sizes)")
            }
        }
    }

    /// A resident budget of one byte drops the maps' pages whenever a read reaches a region of
    /// the file not read just before, so every pass re-reads the file: the curves must not notice.
    @Test(arguments: GroupingSpecification.Method.allCases, [QuantileRule.conformal, .linear])
    func curvesFromAMappedStoreEqualCurvesInMemory(method: GroupingSpecification.Method, rule: QuantileRule) throws {
        try withScratchDirectory("kscores") { directory in
            let grouping = Self.smallSpecification(method).makeGrouping()
            let store = try Self.store(images: 0..<12, of: 12)
            let url = directory.appendingPathComponent("all.kscores")
            try store.write(to: url)
            let spill = directory.appendingPathComponent("spill")
            try FileManager.default.createDirectory(at: spill, withIntermediateDirectories: true)
            let inMemory = try grouping.calibrate(store, levelCount: 11, rule: rule, seed: 3)
            let mapped = try grouping.calibrate(
                try ScoreStore(mapping: url, spillDirectory: spill, residentBudget: 1), levelCount: 11, rule: rule,
                seed: 3)
            Self.expectSameCalibration(mapped, inMemory, "\(method) \(rule)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: spill.path).isEmpty, "selections left behind")
        }
    }

    @Test func refusesPartsThatDisagree() throws {
        try withScratchDirectory("kscores") { directory in
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
    }

    @Test func refusesMalformedFilesNamingTheField() throws {
        try withScratchDirectory("kscores") { directory in
            let url = directory.appendingPathComponent("s.kscores")
            try Self.store(images: 0..<2, of: 2).write(to: url)
            let valid = Array(try Data(contentsOf: url))
            let merged = directory.appendingPathComponent("merged.kscores")
            // The field that reading, mapping and merging the file all name (nil when any of them
            // accepts the file or they disagree); merge names the part, and writes nothing.
            func field(after change: (inout [UInt8]) -> Void) -> String? {
                var bytes = valid
                change(&bytes)
                try! Data(bytes).write(to: url)
                var fields: [String?] = [nil, nil, nil]
                do { _ = try ScoreStore.read(contentsOf: url) } catch { fields[0] = error.field }
                do { _ = try ScoreStore(mapping: url) } catch { fields[1] = error.field }
                do { try ScoreStore.merge([url], to: merged) } catch  where error.file == url.path {
                    fields[2] = error.field
                } catch {}
                #expect(!FileManager.default.fileExists(atPath: merged.path))
                return Set(fields).count == 1 ? fields[0] : nil
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
}

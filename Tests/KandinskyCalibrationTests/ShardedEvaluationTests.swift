import KandinskyCore
import Testing

@testable import KandinskyCalibration

/// The evaluations' accumulators over a test set cut into shards give exactly (bit for bit) what
/// the evaluations give for the whole arrays, whose numbers the fixture suites check
/// (EvaluationTests, CoverageAuditTests, HalfECETests).
@Suite struct ShardedEvaluationTests {
    // 7 images, 3 classes of 5 × 6 pixels: enough images for two chunks of the audit's images
    // and fractions whose sums round.
    static let (n, c, h, w) = (7, 3, 5, 6)
    /// Shards that cut the images apart in different places, one image alone and several.
    static let cuts: [[Int]] = [[1, 2, 4], [3, 1, 3], [1, 1, 1, 1, 1, 1, 1]]

    /// Random probabilities (eighths of a 256th and arbitrary values, some exactly 0 and 1),
    /// targets with about half the pixels set, and Q = 11 increasing curves with class 1 in
    /// three groups (the rest pixelwise); some thresholds +∞ or NaN.
    struct TestSet {
        let probabilities: Tensor
        let targets: ShapedArray<UInt8>
        let curves: CalibratedCurves

        init(seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            let count = n * c * h * w
            let p = (0..<count).map { i -> Float in
                switch i % 17 {
                case 0: 0
                case 5: 1
                default: generator.nextUnitFloat()
                }
            }
            probabilities = Tensor(shape: [n, c, h, w], scalars: p)
            targets = ShapedArray(
                shape: [n, c, h, w], scalars: (0..<count).map { _ in generator.nextUnitFloat() < 0.5 ? 1 : 0 })
            let plane = c * h * w
            let q = 11
            var values = [Float](repeating: 0, count: q * plane)
            for i in 0..<plane {
                var level: Float = 0
                for k in 0..<q {
                    level += generator.nextUnitFloat() / Float(q)
                    values[k * plane + i] = level
                }
                if i % 13 == 4 { values[(q - 1) * plane + i] = .infinity }
                if i % 29 == 7 { for k in 0..<q { values[k * plane + i] = .nan } }
            }
            let labels = (0..<(h * w)).map { _ in Int32(generator.nextUnitFloat() * 3) }
            curves = CalibratedCurves(
                curves: Tensor(shape: [q, c, h, w], scalars: values), method: "random", calibrationImageCount: 9,
                precision: .float, rule: .conformal,
                groups: PixelGroups(
                    labels: [nil, ShapedArray(shape: [h, w], scalars: labels), nil], groupCounts: [0, 3, 0]),
                groupSampleCounts: [nil, [30, 20, 10], nil], groupImageCounts: [nil, [9, 8, 7], nil])
        }

        /// The shards of `sizes` images, in order.
        func shards<P: QuantileScalar>(_ sizes: [Int], as _: P.Type) -> [(ShapedArray<P>, ShapedArray<UInt8>)] {
            precondition(sizes.reduce(0, +) == n)
            let converted = probabilities.map { P(Float($0)) }
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return (converted[leading: start..<(start + size)], targets[leading: start..<(start + size)])
            }
        }

        /// The probabilities as `P`.
        func whole<P: QuantileScalar>(as _: P.Type) -> ShapedArray<P> { probabilities.map { P(Float($0)) } }
    }

    /// The bit patterns of numbers, so that == tells apart any two different values (NaN too).
    static func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    @Test(arguments: [ThresholdIndexing.atOrAbove, .interpolated, .reference], [false, true])
    func coverageInShardsIsTheWholeCoverage(indexing: ThresholdIndexing, half: Bool) throws {
        let data = TestSet(seed: 11)
        let evaluation = CoverageEvaluation(
            binCount: 7, indexing: indexing, precision: half ? .halfProbabilities : .float, classIndex: 1)
        func check<P: QuantileScalar>(_: P.Type) throws {
            let whole = try evaluation.evaluate(
                data.curves, probabilities: data.whole(as: P.self), targets: data.targets)
            #expect(whole.marginalCoverages.contains { $0 > 0 && $0 < 1 })
            for sizes in Self.cuts {
                var accumulator = CoverageEvaluation.Accumulator(evaluation, curves: data.curves)
                for (p, t) in data.shards(sizes, as: P.self) { try accumulator.add(probabilities: p, targets: t) }
                let sharded = try accumulator.result()
                let label = "\(indexing), \(P.self), \(sizes)"
                #expect(Self.bits(sharded.marginalCoverages) == Self.bits(whole.marginalCoverages), "\(label)")
                #expect(sharded.marginalCalibrationError.bitPattern == whole.marginalCalibrationError.bitPattern)
                #expect(
                    sharded.meanPixelwiseCalibrationError.bitPattern == whole.meanPixelwiseCalibrationError.bitPattern)
                #expect(
                    Self.bits(sharded.pixelwiseCalibrationError.scalars)
                        == Self.bits(whole.pixelwiseCalibrationError.scalars), "\(label)")
                #expect(sharded.targetCount == whole.targetCount && sharded.confidences == whole.confidences)
            }
        }
        try check(Float.self)
        try check(Float16.self)
    }

    @Test(arguments: [ScorePrecision.float, .halfProbabilities])
    func calibrationInShardsIsTheWholeCalibration(precision: ScorePrecision) throws {
        let data = TestSet(seed: 12)
        let evaluation = ProbabilityCalibration(binCount: 5, classIndex: 2, precision: precision)
        func check<P: QuantileScalar>(_: P.Type) throws {
            let whole = try evaluation.evaluate(
                probabilities: data.whole(as: P.self), targets: data.targets, pixel: (3, 4))
            for sizes in Self.cuts {
                var accumulator = ProbabilityCalibration.Accumulator(evaluation, pixel: (3, 4))
                for (p, t) in data.shards(sizes, as: P.self) { try accumulator.add(probabilities: p, targets: t) }
                let sharded = try accumulator.result()
                let label = "\(precision), \(P.self), \(sizes)"
                #expect(Self.bits(sharded.pixelwiseECE.scalars) == Self.bits(whole.pixelwiseECE.scalars), "\(label)")
                #expect(sharded.meanPixelwiseECE.bitPattern == whole.meanPixelwiseECE.bitPattern, "\(label)")
                #expect(
                    Self.bits(sharded.structureFrequency.scalars) == Self.bits(whole.structureFrequency.scalars))
                for (a, b) in [(sharded.pooled, whole.pooled), (sharded.atPixel!, whole.atPixel!)] {
                    #expect(a.counts == b.counts, "\(label)")
                    #expect(Self.bits(a.meanPredictions) == Self.bits(b.meanPredictions), "\(label)")
                    #expect(Self.bits(a.meanTargets) == Self.bits(b.meanTargets), "\(label)")
                    #expect(a.expectedCalibrationError.bitPattern == b.expectedCalibrationError.bitPattern)
                }
            }
        }
        try check(Float.self)
        try check(Float16.self)
    }

    @Test(arguments: [ScorePrecision.float, .halfProbabilities], [false, true])
    func auditInShardsIsTheWholeAudit(precision: ScorePrecision, wholeClassRows: Bool) throws {
        let data = TestSet(seed: 13)
        let audit = CoverageAudit(alphas: [0.3, 0.1], precision: precision, wholeClassRows: wholeClassRows)
        func check<P: QuantileScalar>(_: P.Type) throws {
            let whole = try audit.evaluate(data.curves, probabilities: data.whole(as: P.self), targets: data.targets)
            // Fractions strictly between 0 and 1 make the per-image sums round.
            #expect(whole.rows.contains { $0.perImageCoverage > 0 && $0.perImageCoverage < 1 && $0.testImages > 2 })
            for sizes in Self.cuts {
                var accumulator = CoverageAudit.Accumulator(audit, curves: data.curves, imageCount: Self.n)
                for (p, t) in data.shards(sizes, as: P.self) { try accumulator.add(probabilities: p, targets: t) }
                let sharded = try accumulator.result()
                // Row prints every number with the digits that tell its bits apart.
                #expect("\(sharded.rows)" == "\(whole.rows)", "\(precision), \(P.self), \(sizes)")
                #expect(sharded.testImages == whole.testImages && sharded.indexing == whole.indexing)
            }
        }
        try check(Float.self)
        try check(Float16.self)
    }

    @Test func aShardThatDoesNotFitIsRefusedNamingIt() throws {
        let data = TestSet(seed: 14)
        var accumulator = ProbabilityCalibration.Accumulator(ProbabilityCalibration(classIndex: 1))
        try accumulator.add(probabilities: data.probabilities, targets: data.targets)
        let narrow = Tensor(shape: [1, Self.c, Self.h, Self.w - 1], repeating: 0.5)
        let error = #expect(throws: CalibrationError.self) {
            try accumulator.add(
                probabilities: narrow,
                targets: ShapedArray<UInt8>(shape: [1, Self.c, Self.h, Self.w - 1], repeating: 0),
                probabilitiesSource: "narrow.npy")
        }
        #expect(error?.kind == .shapeMismatch && "\(error!)".contains("narrow.npy"), "\(String(describing: error))")
        var coverage = CoverageEvaluation.Accumulator(CoverageEvaluation(classIndex: 1), curves: data.curves)
        let bad = #expect(throws: CalibrationError.self) {
            try coverage.add(
                probabilities: narrow,
                targets: ShapedArray<UInt8>(shape: [1, Self.c, Self.h, Self.w - 1], repeating: 0),
                probabilitiesSource: "narrow.npy", targetsSource: "narrow-targets.npy")
        }
        #expect(bad?.kind == .invalidCurves, "\(String(describing: bad))")
        let empty = CoverageEvaluation.Accumulator(
            CoverageEvaluation(classIndex: 1), curves: data.curves, targetsSource: "all the targets")
        var none = empty
        try none.add(
            probabilities: data.probabilities,
            targets: ShapedArray<UInt8>(shape: [Self.n, Self.c, Self.h, Self.w], repeating: 0))
        let withoutTargets = #expect(throws: CalibrationError.self) { try none.result() }
        #expect(withoutTargets?.kind == .classWithoutTargets && "\(withoutTargets!)".contains("all the targets"))
    }
}

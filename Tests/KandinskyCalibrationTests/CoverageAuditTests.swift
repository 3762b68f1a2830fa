import Foundation
import KandinskyCore
import Testing

@testable import KandinskyCalibration

/// The per-class, per-group audit on hand-built cases, against hand-computed numbers and an
/// independent brute-force loop over the definitions.
@Suite struct CoverageAuditTests {
    // 2 classes, 2 × 3 pixels (q = h·3 + w), 3 test images. Scores 1 − p are exact (p in eighths).
    static let (n, c, h, w) = (3, 2, 2, 3)
    /// Thresholds at α = 0.2 (levels ≤ 0.8) and at α = 0.1, 0.05 (levels ≥ 0.85), [C][q].
    static let low: [[Float]] = [[0.3, 0.6, .infinity, .nan, 0.8, 0.6], [0.6, 0.3, 0.6, 0.8, .nan, .infinity]]
    static let high: [[Float]] = [
        [0.6, 0.8, .infinity, .nan, .infinity, 0.8], [0.8, 0.6, 0.8, .infinity, .nan, .infinity],
    ]
    /// p[n][c][q].
    static let p: [[[Float]]] = [
        [[0.875, 0.5, 0.125, 0.875, 0.25, 0.5], [0.5, 0.75, 0.25, 0.5, 0.875, 0.125]],
        [[0.25, 0.875, 0.5, 0.5, 0.125, 0.75], [0.75, 0.125, 0.875, 0.25, 0.5, 0.5]],
        [[0.5, 0.25, 0.75, 0.125, 0.875, 0.25], [0.125, 0.5, 0.5, 0.875, 0.25, 0.75]],
    ]
    /// T[n][c][q]; image 0 has no class-1 target in group 0, image 2 none of class 1 at all.
    static let t: [[[UInt8]]] = [
        [[1, 0, 1, 0, 1, 0], [0, 0, 0, 1, 0, 0]],
        [[0, 1, 1, 1, 0, 0], [1, 0, 0, 0, 1, 1]],
        [[1, 1, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]],
    ]
    /// Class 1's groups: 0 = {0, 1, 5}, 1 = {2, 3, 4}; class 0 is pixelwise.
    static let labels: [Int32] = [0, 0, 1, 1, 1, 0]

    static var probabilities: Tensor { Tensor(shape: [n, c, h, w], scalars: p.flatMap { $0.flatMap { $0 } }) }
    static var targets: ShapedArray<UInt8> {
        ShapedArray(shape: [n, c, h, w], scalars: t.flatMap { $0.flatMap { $0 } })
    }

    /// Q = 21 conformal curves: `low` at indices 0…16, `high` at 17…20, so at-or-above indexing
    /// reads `low` at 1 − α = 0.8 (index 16) and `high` at 0.9 and 0.95 (18, 19).
    static func curves() -> CalibratedCurves {
        let plane = c * h * w
        var values = [Float](repeating: 0, count: 21 * plane)
        for k in 0..<21 {
            let source = k <= 16 ? low : high
            for cls in 0..<c { for q in 0..<(h * w) { values[k * plane + cls * h * w + q] = source[cls][q] } }
        }
        let groups = PixelGroups(labels: [nil, ShapedArray(shape: [h, w], scalars: labels)], groupCounts: [0, 2])
        return CalibratedCurves(
            curves: Tensor(shape: [21, c, h, w], scalars: values), method: "hand", calibrationImageCount: 7,
            precision: .float, rule: .conformal, groups: groups,
            groupSampleCounts: [nil, [40, 25]], groupImageCounts: [nil, [6, 5]])
    }

    /// Wilson 95 % interval, written out independently of the library.
    static func wilson(_ x: Double, _ n: Double) -> (Double, Double) {
        let z = 1.959963984540054
        let centre = (x + z * z / 2) / (n + z * z)
        let half = z / (n + z * z) * (x * (n - x) / n + z * z / 4).squareRoot()
        return (max(centre - half, 0), min(centre + half, 1))
    }

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
        a.isNaN ? b.isNaN : abs(a - b) <= tolerance
    }

    @Test func handComputedNumbersAtAlpha02() throws {
        let result = try CoverageAudit().evaluate(
            Self.curves(), probabilities: Self.probabilities, targets: Self.targets)
        #expect(result.rows.count == 9, "class 0 (all pixels) and class 1's two groups, three α each")
        #expect(result.rows.map(\.classIndex) == [0, 0, 0, 1, 1, 1, 1, 1, 1])
        #expect(result.rows.map(\.group) == [nil, nil, nil, 0, 0, 0, 1, 1, 1])
        #expect(result.rows.map(\.alpha) == [0.2, 0.1, 0.05, 0.2, 0.1, 0.05, 0.2, 0.1, 0.05])
        #expect(result.rule == .conformal && result.indexing == .atOrAbove && result.testImages == 3)

        // Class 0 at α = 0.2. Sets (class 0, class 1) per image and pixel:
        // image 0: in₀ 1 1 1 0 1 1, in₁ 1 1 0 1 0 1 → sizes 2 2 1 1 1 2;
        // image 1: in₀ 0 1 1 0 0 1, in₁ 1 0 1 1 0 1 → sizes 1 1 2 1 0 2;
        // image 2: in₀ 0 0 1 0 1 0, in₁ 0 0 1 1 0 1 → sizes 0 0 2 1 1 1.
        // Class-0 targets covered: image 0 3 of 3, image 1 2 of 3, image 2 0 of 3.
        let class0 = result.rows[0]
        #expect(class0.pixels == 6 && class0.calibrationImages == nil && class0.calibrationScores == nil)
        #expect(class0.testImages == 3 && class0.targetPixels == 9 && class0.coveredPixels == 5)
        #expect(Self.close(class0.perImageCoverage, 5.0 / 9))
        #expect(class0.perImageIntervalMethod == .studentT)
        // sd of (1, 2/3, 0) = 0.50918; 4.3026527 · 0.50918 / √3 = 1.265 > 1: the interval is [0, 1].
        #expect(class0.perImageInterval == ConfidenceInterval(lower: 0, upper: 1))
        #expect(Self.close(class0.pooledCoverage, 5.0 / 9))
        let pooled0 = Self.wilson(5, 9)
        #expect(
            Self.close(class0.pooledInterval!.lower, pooled0.0) && Self.close(class0.pooledInterval!.upper, pooled0.1))
        #expect(!class0.shortfall)
        #expect(Self.close(class0.alwaysInShare, 1.0 / 6))
        #expect(Self.close(class0.meanSetSize, 21.0 / 18))
        #expect(
            Self.close(class0.emptyShare, 3.0 / 18) && Self.close(class0.singletonShare, 9.0 / 18)
                && Self.close(class0.fullShare, 6.0 / 18))

        // Class 1, group 0 = {0, 1, 5}: only image 1 has targets there (pixels 0 and 5, both in).
        let group0 = result.rows[3]
        #expect(group0.pixels == 3 && group0.calibrationImages == 6 && group0.calibrationScores == 40)
        #expect(group0.testImages == 1 && group0.targetPixels == 2 && group0.coveredPixels == 2)
        #expect(group0.perImageCoverage == 1 && group0.perImageIntervalMethod == .studentT)
        #expect(group0.perImageInterval == ConfidenceInterval(lower: 0, upper: 1), "one image: no spread is known")
        #expect(Self.close(group0.alwaysInShare, 1.0 / 3))
        #expect(
            Self.close(group0.meanSetSize, 11.0 / 9) && Self.close(group0.emptyShare, 2.0 / 9)
                && Self.close(group0.singletonShare, 3.0 / 9) && Self.close(group0.fullShare, 4.0 / 9))

        // Class 1, group 1 = {2, 3, 4}: image 0 has pixel 3 (in), image 1 pixel 4 (NaN threshold:
        // out); every m is 1, so the per-image interval is Wilson's of 1 in 2.
        let group1 = result.rows[6]
        #expect(group1.calibrationImages == 5 && group1.calibrationScores == 25)
        #expect(group1.testImages == 2 && group1.targetPixels == 2 && group1.coveredPixels == 1)
        #expect(group1.perImageCoverage == 0.5 && group1.perImageIntervalMethod == .wilson)
        let half = Self.wilson(1, 2)
        #expect(
            Self.close(group1.perImageInterval!.lower, half.0) && Self.close(group1.perImageInterval!.upper, half.1))
        #expect(group1.alwaysInShare == 0)
        #expect(
            Self.close(group1.meanSetSize, 10.0 / 9) && Self.close(group1.emptyShare, 1.0 / 9)
                && Self.close(group1.singletonShare, 6.0 / 9) && Self.close(group1.fullShare, 2.0 / 9))
    }

    /// With `wholeClassRows`, the grouped class 1 first gets the rows of all its pixels.
    @Test(arguments: [false, true]) func everyRowMatchesABruteForceLoop(wholeClassRows: Bool) throws {
        let audit = CoverageAudit(wholeClassRows: wholeClassRows)
        let result = try audit.evaluate(Self.curves(), probabilities: Self.probabilities, targets: Self.targets)
        // Float16 probabilities give the same sets: every p here is a Float16.
        let fromHalf = try audit.evaluate(
            Self.curves(), probabilities: Self.probabilities.map { Float16($0) }, targets: Self.targets)
        #expect(fromHalf == result)
        var index = 0
        for cls in 0..<Self.c {
            let groups: [[Int]] =
                cls == 0 ? [Array(0..<6)] : (wholeClassRows ? [Array(0..<6)] : []) + [[0, 1, 5], [2, 3, 4]]
            for (number, members) in groups.enumerated() {
                let group: Int? = cls == 0 ? nil : wholeClassRows ? (number == 0 ? nil : number - 1) : number
                for alpha in [0.2, 0.1, 0.05] {
                    let thresholds = alpha == 0.2 ? Self.low : Self.high
                    func inSet(_ image: Int, _ k: Int, _ q: Int) -> Bool { 1 - Self.p[image][k][q] <= thresholds[k][q] }
                    var fractions: [Double] = []
                    var targets = 0
                    var covered = 0
                    var single = true
                    var sizes: [Int] = []
                    for image in 0..<Self.n {
                        var m = 0
                        var hit = 0
                        for q in members {
                            sizes.append((0..<Self.c).filter { inSet(image, $0, q) }.count)
                            if Self.t[image][cls][q] == 1 {
                                m += 1
                                if inSet(image, cls, q) { hit += 1 }
                            }
                        }
                        if m > 0 {
                            fractions.append(Double(hit) / Double(m))
                            targets += m
                            covered += hit
                            single = single && m == 1
                        }
                    }
                    let row = result.rows[index]
                    index += 1
                    #expect(row.classIndex == cls && row.group == group && row.pixels == members.count)
                    let mean = fractions.reduce(0, +) / Double(fractions.count)
                    #expect(
                        row.testImages == fractions.count && row.targetPixels == targets && row.coveredPixels == covered
                    )
                    #expect(Self.close(row.perImageCoverage, mean), "class \(cls) α \(alpha)")
                    #expect(Self.close(row.pooledCoverage, Double(covered) / Double(targets)))
                    #expect(row.perImageIntervalMethod == (single ? .wilson : .studentT))
                    if single {
                        let interval = Self.wilson(Double(covered), Double(fractions.count))
                        #expect(
                            Self.close(row.perImageInterval!.lower, interval.0)
                                && Self.close(row.perImageInterval!.upper, interval.1))
                    } else if fractions.count > 1 {
                        let sd = (fractions.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(fractions.count - 1))
                            .squareRoot()
                        let tValue = [12.7062047, 4.3026527][fractions.count - 2]
                        let spread = tValue * sd / Double(fractions.count).squareRoot()
                        #expect(Self.close(row.perImageInterval!.lower, max(mean - spread, 0), 1e-9))
                        #expect(Self.close(row.perImageInterval!.upper, min(mean + spread, 1), 1e-9))
                    }
                    #expect(row.shortfall == (row.perImageInterval!.upper < 1 - alpha))
                    let infinite = members.filter { thresholds[cls][$0] == .infinity }.count
                    #expect(Self.close(row.alwaysInShare, Double(infinite) / Double(members.count)))
                    let count = Double(sizes.count)
                    #expect(Self.close(row.meanSetSize, Double(sizes.reduce(0, +)) / count))
                    #expect(Self.close(row.emptyShare, Double(sizes.filter { $0 == 0 }.count) / count))
                    #expect(Self.close(row.singletonShare, Double(sizes.filter { $0 == 1 }.count) / count))
                    #expect(Self.close(row.fullShare, Double(sizes.filter { $0 == Self.c }.count) / count))
                }
            }
        }
        #expect(index == result.rows.count)
        // At α = 0.05 the thresholds are larger than at 0.2: sets do not shrink.
        #expect(result.rows[2].meanSetSize > result.rows[0].meanSetSize)
    }

    @Test func shortfallIsFlaggedWhenTheWholeIntervalIsBelowTheLevel() throws {
        // One class, one pixel row of 2 pixels, 10 images; every image has both pixels as
        // targets; the threshold 0.5 admits p = 0.75 and rejects p = 0.25: each image covers 1 of 2.
        let images = 10
        var p = [Float]()
        var t = [UInt8]()
        for _ in 0..<images {
            p += [0.75, 0.25]
            t += [1, 1]
        }
        let curves = CalibratedCurves(
            curves: Tensor(shape: [2, 1, 1, 2], repeating: 0.5), method: "hand", calibrationImageCount: 1,
            rule: .conformal)
        let rows = try CoverageAudit(alphas: [0.1, 0.6]).evaluate(
            curves, probabilities: Tensor(shape: [images, 1, 1, 2], scalars: p),
            targets: ShapedArray(shape: [images, 1, 1, 2], scalars: t)
        ).rows
        #expect(rows.count == 2)
        // All fractions 0.5: sd 0, the interval is [0.5, 0.5], below 0.9 but not below 0.4.
        #expect(
            rows[0].perImageCoverage == 0.5 && rows[0].perImageInterval == ConfidenceInterval(lower: 0.5, upper: 0.5))
        #expect(rows[0].shortfall)
        #expect(!rows[1].shortfall)
        // With one class every non-empty set is full.
        #expect(
            rows[0].meanSetSize == 0.5 && rows[0].emptyShare == 0.5 && rows[0].fullShare == 0.5
                && rows[0].singletonShare == 0.5)
    }

    @Test func wilsonAndStudentIntervalsMatchPublishedValues() {
        // Wilson 95 %: 8 of 10 → [0.490, 0.943]; 0 of 10 → [0, 0.278]; 10 of 10 → [0.722, 1].
        let eight = ConfidenceInterval.wilson(successes: 8, trials: 10)
        #expect(abs(eight.lower - 0.490) < 5e-4 && abs(eight.upper - 0.943) < 5e-4)
        let none = ConfidenceInterval.wilson(successes: 0, trials: 10)
        #expect(none.lower == 0 && abs(none.upper - 0.278) < 5e-4)
        let all = ConfidenceInterval.wilson(successes: 10, trials: 10)
        #expect(abs(all.lower - 0.722) < 5e-4 && all.upper == 1)
        // t₀.₉₇₅: ν = 9 → 2.262, 30 → 2.042, 40 → 2.021, 60 → 2.000, 120 → 1.980 (standard tables).
        for (nu, value) in [(9, 2.262), (30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980)] {
            #expect(abs(ConfidenceInterval.studentQuantile975(degreesOfFreedom: nu) - value) < 5e-4, "ν = \(nu)")
        }
        // Far out the quantile tends to z = 1.960.
        #expect(abs(ConfidenceInterval.studentQuantile975(degreesOfFreedom: 100_000) - 1.95998) < 1e-4)
        let t = ConfidenceInterval.studentT(mean: 0.8, standardDeviation: 0.1, count: 10)
        #expect(abs(t.lower - (0.8 - 2.2621572 * 0.1 / 10.0.squareRoot())) < 1e-7)
        #expect(ConfidenceInterval.studentT(mean: 0.9, standardDeviation: 1, count: 4).upper == 1)
    }

    @Test func theTableHasOneLinePerRow() throws {
        let result = try CoverageAudit().evaluate(
            Self.curves(), probabilities: Self.probabilities, targets: Self.targets)
        let lines = result.table.split(separator: "\n")
        #expect(lines.count == 1 + result.rows.count)
        #expect(lines[0].contains("per-image") && lines[0].contains("set size"))
        #expect(lines[1].hasPrefix("0") && lines[1].contains("all"))
        #expect(lines[4].hasPrefix("1") && lines[4].contains("40"))
    }

    @Test func badInputsAreNamed() {
        let curves = Self.curves()
        expectCalibrationError(.invalidCurves, mentioning: "c.safetensors", "curves", "[1, 2, 3, 3]") {
            try CoverageAudit().evaluate(
                curves, probabilities: Tensor(shape: [1, 2, 3, 3], repeating: 0.5),
                targets: ShapedArray(shape: [1, 2, 3, 3], repeating: 0), curvesSource: "c.safetensors")
        }
        expectCalibrationError(.shapeMismatch, mentioning: "t.npy") {
            try CoverageAudit().evaluate(
                curves, probabilities: Self.probabilities, targets: ShapedArray(shape: [2, 2, 2, 3], repeating: 0),
                targetsSource: "t.npy")
        }
        expectCalibrationError(.invalidProbability, mentioning: "p.npy", "1.5") {
            try CoverageAudit().evaluate(
                curves, probabilities: Tensor(shape: [3, 2, 2, 3], repeating: 1.5), targets: Self.targets,
                probabilitiesSource: "p.npy")
        }
        var transposed = curves
        transposed.groups = PixelGroups(
            labels: [nil, ShapedArray(shape: [3, 2], scalars: Self.labels)], groupCounts: [0, 2])
        expectCalibrationError(.invalidCurves, mentioning: "group_labels", "[3, 2]") {
            try CoverageAudit().evaluate(transposed, probabilities: Self.probabilities, targets: Self.targets)
        }
    }
}

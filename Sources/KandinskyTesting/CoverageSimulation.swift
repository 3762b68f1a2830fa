import KandinskyCalibration
import KandinskyCore

/// The coverage of a grouping's prediction sets on exchangeable synthetic images, over many
/// seeded draws: what the conformal guarantee promises, measured.
///
/// Each draw takes n calibration and `testImages` test images from ``scenes`` (an independent
/// stream of `seed` per n and draw), calibrates with the strategy under the rule, and forms the
/// prediction sets at every α. Per draw it measures, for the foreground class 1:
/// - **per-image coverage**: the mean over test images with targets of the covered fraction of
///   the image's target pixels;
/// - **pixel-mean coverage**: the mean over pixel locations with targets of the covered
///   fraction of that location's targets;
/// - **pooled coverage**: covered target pixels over all target pixels;
/// and over every class:
/// - **pool coverage**: the mean over (test image, class, pool with targets in the image) of
///   the covered fraction of those targets, a pool being a pixel of a pixelwise class or a
///   group. This is the quantity the conformal rule guarantees to be ≥ 1 − α in expectation.
/// - **mean set size**: the mean number of classes in a pixel's set.
/// Each is reported as the mean over draws with its standard error (the draws are independent).
///
/// - Complexity: draws × sizes × (one calibration + |α| prediction sets).
public struct CoverageSimulation: Sendable {
    /// The image generator.
    public var scenes: ExchangeableScenes
    /// The calibration-set sizes n.
    public var calibrationSizes: [Int]
    /// The miscoverage levels α.
    public var alphas: [Double]
    /// Independent draws per size.
    public var draws: Int
    /// Test images per draw.
    public var testImages: Int
    /// Q of the calibrator; nil for the rule's default.
    public var levelCount: Int?
    /// The seed of every draw.
    public var seed: UInt64

    /// A simulation; the defaults make a quick check (8 × 10 images, 200 draws of 4 test images).
    public init(
        scenes: ExchangeableScenes = ExchangeableScenes(height: 8, width: 10), calibrationSizes: [Int] = [5, 10, 20],
        alphas: [Double] = [0.1, 0.05], draws: Int = 200, testImages: Int = 4, levelCount: Int? = nil, seed: UInt64 = 0
    ) {
        precondition(
            draws >= 2 && testImages >= 1 && calibrationSizes.allSatisfy({ $0 >= 1 }),
            "need ≥ 2 draws, ≥ 1 test image and sizes ≥ 1")
        precondition(alphas.allSatisfy { $0 > 0 && $0 < 1 }, "every α must lie in (0, 1), got \(alphas)")
        self.scenes = scenes
        self.calibrationSizes = calibrationSizes
        self.alphas = alphas
        self.draws = draws
        self.testImages = testImages
        self.levelCount = levelCount
        self.seed = seed
    }

    /// A mean over independent draws and its standard error.
    public struct Estimate: Sendable, Equatable, CustomStringConvertible {
        /// The mean over draws.
        public var mean: Double
        /// σ̂/√D, σ̂ the sample standard deviation over the D draws.
        public var standardError: Double

        init(_ values: [Double]) {
            let finite = values.filter { $0.isFinite }
            let average = finite.reduce(0, +) / Double(finite.count)
            let variance = finite.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(max(finite.count - 1, 1))
            mean = average
            standardError = (variance / Double(finite.count)).squareRoot()
        }

        /// `0.912 ± 0.004`.
        public var description: String { String(format: "%.3f ± %.3f", mean, standardError) }
    }

    /// The measurements at one (n, α).
    public struct Cell: Sendable, Equatable {
        /// The calibration-set size.
        public var calibrationImages: Int
        /// α.
        public var alpha: Double
        /// Class 1's per-image coverage.
        public var perImageCoverage: Estimate
        /// Class 1's pixel-mean coverage.
        public var pixelMeanCoverage: Estimate
        /// Class 1's pooled coverage.
        public var pooledCoverage: Estimate
        /// The guaranteed quantity: coverage per (image, class, pool).
        public var poolCoverage: Estimate
        /// Classes per pixel's set.
        public var meanSetSize: Estimate
    }

    /// Runs the simulation for the strategy `makeGrouping(draw)` (a seed per draw) under `rule`.
    package func run<G: NonconformityGrouping>(rule: QuantileRule, _ makeGrouping: (UInt64) -> G)
        throws(CalibrationError) -> [Cell]
    {
        var cells: [Cell] = []
        for n in calibrationSizes {
            var measured = [[[Double]]](repeating: [[Double]](repeating: [], count: 5), count: alphas.count)
            for draw in 0..<draws {
                var generator = SeededGenerator.stream(n * 1_000_003 + draw, of: seed)
                let calibration = scenes.images(count: n, using: &generator)
                let test = scenes.images(count: testImages, using: &generator)
                let scores = try ScoreStore(probabilities: calibration.probabilities, targets: calibration.targets)
                let curves = try Calibrator(grouping: makeGrouping(UInt64(draw)), levelCount: levelCount, rule: rule)
                    .calibrate(scores)
                for (a, alpha) in alphas.enumerated() {
                    let sets = try curves.predictionSets(probabilities: test.probabilities, alpha: alpha)
                    let values = Self.measure(sets: sets, targets: test.targets, groups: curves.groups)
                    for (m, value) in values.enumerated() { measured[a][m].append(value) }
                }
            }
            for (a, alpha) in alphas.enumerated() {
                let e = measured[a].map(Estimate.init)
                cells.append(
                    Cell(
                        calibrationImages: n, alpha: alpha, perImageCoverage: e[0], pixelMeanCoverage: e[1],
                        pooledCoverage: e[2], poolCoverage: e[3], meanSetSize: e[4]))
            }
        }
        return cells
    }

    /// Per-image, pixel-mean and pooled coverage of class 1, pool coverage and mean set size of
    /// one draw's test images (NaN where nothing is measured).
    static func measure(sets: ShapedArray<UInt8>, targets: ShapedArray<UInt8>, groups: PixelGroups) -> [Double] {
        let (n, classCount, h, w) = (targets.shape[0], targets.shape[1], targets.shape[2], targets.shape[3])
        let pixels = h * w
        let foreground = min(1, classCount - 1)
        var perImage = 0.0
        var imagesWithTargets = 0
        var locationCovered = [Int](repeating: 0, count: pixels)
        var locationTotal = [Int](repeating: 0, count: pixels)
        var poolSum = 0.0
        var poolCount = 0
        var inSets = 0
        sets.withUnsafeBufferPointer { s in
            targets.withUnsafeBufferPointer { t in
                for i in 0..<s.count { inSets += Int(s[i]) }
                for image in 0..<n {
                    for c in 0..<classCount {
                        let base = (image * classCount + c) * pixels
                        let poolCountOfClass = groups.labels[c] == nil ? pixels : groups.groupCounts[c]
                        var covered = [Int](repeating: 0, count: poolCountOfClass)
                        var total = [Int](repeating: 0, count: poolCountOfClass)
                        for p in 0..<pixels where t[base + p] == 1 {
                            let pool =
                                groups.labels[c].map { labels in labels.withUnsafeBufferPointer { Int($0[p]) } } ?? p
                            total[pool] += 1
                            covered[pool] += Int(s[base + p])
                            if c == foreground {
                                locationTotal[p] += 1
                                locationCovered[p] += Int(s[base + p])
                            }
                        }
                        for pool in 0..<poolCountOfClass where total[pool] > 0 {
                            poolSum += Double(covered[pool]) / Double(total[pool])
                            poolCount += 1
                        }
                        if c == foreground {
                            let (hit, all) = (covered.reduce(0, +), total.reduce(0, +))
                            if all > 0 {
                                perImage += Double(hit) / Double(all)
                                imagesWithTargets += 1
                            }
                        }
                    }
                }
            }
        }
        let locations = (0..<pixels).filter { locationTotal[$0] > 0 }
        let pixelMean =
            locations.reduce(0.0) { $0 + Double(locationCovered[$1]) / Double(locationTotal[$1]) }
            / Double(locations.count)
        let pooled = Double(locationCovered.reduce(0, +)) / Double(locationTotal.reduce(0, +))
        return [
            perImage / Double(imagesWithTargets), pixelMean, pooled, poolSum / Double(poolCount),
            Double(inSets) / Double(n * pixels),
        ]
    }
}

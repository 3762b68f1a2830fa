import KandinskyCore

/// Kandinsky grouping by k-means on curve features: the pixels of each grouped class are
/// clustered by the values of their pixelwise curves at a few levels, and each cluster shares
/// one pooled threshold. Classes not in `classes` keep their pixelwise curves.
///
/// Features: f(h, w) = (curve[k₁, c, h, w], …, curve[kₘ, c, h, w]) for the level indices
/// `curvePoints` (by default 60, 70, 80, 90, see ``Parameters/default``) of the descriptive
/// (linear) pixelwise curves of class c on the images the calibrator gives the strategy. Clustering: `KMeans` with
/// `clusterCount` clusters,
/// seeded by `seed` (the same seed for every class); cluster ids 0..<k by ascending centre.
///
/// Pixels without a score of the class in those images have no features. They are not
/// clustered: they form one extra group with id k, whose threshold is set by whatever scores
/// the threshold-setting images have there (+∞ under the conformal rule when they have none,
/// NaN under the linear one), so the strategy never invents a threshold for a location it has
/// no evidence about. The extra group exists only when there are such pixels. A class without
/// any score is left pixelwise.
///
/// Guarantee: the groups depend on the scores, so the conformal guarantee of each group (see
/// ``Calibrator``) holds when the calibrator's ``GroupSplit`` gives the strategy images other
/// than the threshold-setting ones (the default under the conformal rule).
public struct KMeansGrouping: NonconformityGrouping {
    /// The parameters recorded in the calibrated-model file.
    public struct Parameters: Codable, Sendable, Equatable {
        /// The classes whose pixels are clustered; nil for every class.
        public var classes: [Int]?
        /// k.
        public var clusterCount: Int
        /// Curve level indices used as features.
        public var curvePoints: [Int]
        /// k-means restarts.
        public var restarts: Int
        /// Lloyd iterations per restart at most.
        public var maxIterations: Int
        /// Seed of the k-means++ draws.
        public var seed: UInt64

        /// Parameters with every value given.
        public init(
            classes: [Int]?, clusterCount: Int, curvePoints: [Int], restarts: Int, maxIterations: Int,
            seed: UInt64
        ) {
            self.classes = classes
            self.clusterCount = clusterCount
            self.curvePoints = curvePoints
            self.restarts = restarts
            self.maxIterations = maxIterations
            self.seed = seed
        }

        /// The Kandinsky defaults, the one copy the initialiser, ``GroupingSpecification``, the
        /// command line and the configuration files take theirs from: every class; k = 4; features
        /// at curve indices 60, 70, 80, 90 (the upper part of the curve, which sets thresholds at
        /// usual confidences); 10 restarts of at most 300 Lloyd iterations; seed 0.
        public static let `default` = Parameters(
            classes: nil, clusterCount: 4, curvePoints: [60, 70, 80, 90],
            restarts: 10, maxIterations: 300, seed: 0)
    }

    /// The parameters of this strategy.
    public var parameters: Parameters

    /// The strategy with `parameters`.
    public init(parameters: Parameters) {
        self.parameters = parameters
    }

    /// The strategy with ``Parameters/default`` for every parameter not given.
    public init(
        classes: [Int]? = Parameters.default.classes, clusterCount: Int = Parameters.default.clusterCount,
        curvePoints: [Int] = Parameters.default.curvePoints, restarts: Int = Parameters.default.restarts,
        maxIterations: Int = Parameters.default.maxIterations, seed: UInt64 = Parameters.default.seed
    ) {
        parameters = Parameters(
            classes: classes, clusterCount: clusterCount, curvePoints: curvePoints,
            restarts: restarts, maxIterations: maxIterations, seed: seed)
    }

    /// `kmeans`.
    public var name: String { "kmeans" }

    /// Clusters each class of `classes` (every class when nil); all other classes pixelwise.
    ///
    /// - Throws: ``CalibrationError`` when a class index is out of range or repeated, a curve
    ///   point is not a curve index, or k < 1.
    /// - Complexity: the pixelwise curves of each class, plus `KMeans` per class.
    public func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let p = parameters
        let scores = input.scores
        let classes = try InputValidation.groupedClasses(p.classes, classCount: scores.classCount, source: "kmeans")
        try CurveFeatures.check(points: p.curvePoints, levelCount: input.levels.count)
        guard p.clusterCount >= 1, p.restarts >= 1, p.maxIterations >= 1 else {
            throw .invalidParameter(
                "clusters",
                problem:
                    "k-means needs at least 1 cluster, restart and iteration, got \(p.clusterCount), \(p.restarts), \(p.maxIterations)"
            )
        }
        var perClass: [ShapedArray<Int32>?] = Array(repeating: nil, count: scores.classCount)
        var counts = Array(repeating: 0, count: scores.classCount)
        for c in classes where scores.scoreCount(ofClass: c) > 0 {
            let features = CurveFeatures(input: input, classIndex: c, points: p.curvePoints)
            var generator = SeededGenerator(seed: p.seed)
            var labels = [Int32](repeating: Int32(p.clusterCount), count: scores.pixelCount)
            let clustering = KMeans(clusterCount: p.clusterCount, restarts: p.restarts, maxIterations: p.maxIterations)
                .fit(features.values, using: &generator)
            for (i, pixel) in features.pixels.enumerated() { labels[pixel] = clustering.labels[i] }
            perClass[c] = ShapedArray(shape: [scores.height, scores.width], scalars: labels)
            counts[c] = p.clusterCount + (features.count < scores.pixelCount ? 1 : 0)
        }
        return PixelGroups(labels: perClass, groupCounts: counts)
    }
}

/// The curve features of the pixels of one class whose pixelwise curve is not NaN.
struct CurveFeatures {
    /// [n, m] feature rows.
    let values: Tensor
    /// The pixel (h·W + w) of each row, ascending.
    let pixels: [Int]
    var count: Int { pixels.count }

    init(input: GroupingInput, classIndex: Int, points: [Int]) {
        let all = input.curveFeatures(ofClass: classIndex, atLevelIndices: points)
        let m = points.count
        var pixels: [Int] = []
        var rows: [Float] = []
        all.withUnsafeBufferPointer { f in
            for p in 0..<(f.count / m) where !f[p * m].isNaN {
                pixels.append(p)
                rows.append(contentsOf: f[(p * m)..<(p * m + m)])
            }
        }
        self.pixels = pixels
        self.values = Tensor(shape: [pixels.count, m], scalars: rows)
    }

    static func check(points: [Int], levelCount: Int) throws(CalibrationError) {
        guard !points.isEmpty, points.allSatisfy({ $0 >= 0 && $0 < levelCount }) else {
            throw .invalidParameter(
                "curve points", problem: "expected curve indices in 0..<\(levelCount), found \(points)")
        }
    }
}

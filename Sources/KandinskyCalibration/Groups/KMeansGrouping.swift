import KandinskyCore

/// Kandinsky grouping by k-means on curve features: the pixels of one class are clustered by
/// the values of their pixelwise curves at a few levels, and each cluster shares one pooled
/// curve. Other classes keep their pixelwise curves.
///
/// Features: f(h, w) = (curve[k₁, c, h, w], …, curve[kₘ, c, h, w]) for the level indices
/// `curvePoints` (default 60, 70, 80, 90: the upper part of the curve that sets thresholds at
/// usual confidences) of class `classIndex`. Clustering: ``KMeans`` with `clusterCount`
/// clusters, seeded by `seed`; cluster ids 0..<k by ascending centre.
///
/// Pixels whose pixelwise curve is NaN (the class never occurs there in the calibration set)
/// have no features. They are not clustered: they form one extra group with id k, and since
/// that group holds no scores its curve is NaN — exactly what the pixelwise method gives them,
/// so the strategy never invents a curve for a location it has no evidence about. The extra
/// group exists only when there are such pixels.
public struct KMeansGrouping: NonconformityGrouping {
    /// The parameters recorded in the calibrated-model file.
    public struct Parameters: Codable, Sendable, Equatable {
        /// The class whose pixels are clustered.
        public var classIndex: Int
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
    }

    /// The parameters of this strategy.
    public var parameters: Parameters

    /// The strategy with the Kandinsky defaults: class 1, k = 4, features at 60, 70, 80, 90.
    public init(classIndex: Int = 1, clusterCount: Int = 4, curvePoints: [Int] = [60, 70, 80, 90],
                restarts: Int = 10, maxIterations: Int = 300, seed: UInt64 = 0) {
        parameters = Parameters(classIndex: classIndex, clusterCount: clusterCount, curvePoints: curvePoints,
                                restarts: restarts, maxIterations: maxIterations, seed: seed)
    }

    /// `kmeans`.
    public var name: String { "kmeans" }

    /// Clusters class `classIndex`; all other classes pixelwise.
    ///
    /// - Throws: ``CalibrationError`` when the class index is out of range, a curve point is not a
    ///   curve index, or k < 1.
    /// - Complexity: the pixelwise curves of the class, plus ``KMeans``.
    public func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let p = parameters
        let scores = input.scores
        try InputValidation.checkClassIndex(p.classIndex, classCount: scores.classCount, source: "kmeans")
        try CurveFeatures.check(points: p.curvePoints, levelCount: input.levels.count)
        guard p.clusterCount >= 1, p.restarts >= 1, p.maxIterations >= 1 else {
            throw .invalidParameter("clusters", problem: "k-means needs at least 1 cluster, restart and iteration, got \(p.clusterCount), \(p.restarts), \(p.maxIterations)")
        }
        let features = CurveFeatures(input: input, classIndex: p.classIndex, points: p.curvePoints)
        var generator = SeededGenerator(seed: p.seed)
        var labels = [Int32](repeating: Int32(p.clusterCount), count: scores.pixelCount)
        if features.count > 0 {
            let clustering = KMeans(clusterCount: p.clusterCount, restarts: p.restarts, maxIterations: p.maxIterations)
                .fit(features.values, using: &generator)
            for (i, pixel) in features.pixels.enumerated() { labels[pixel] = clustering.labels[i] }
        }
        let groupCount = p.clusterCount + (features.count < scores.pixelCount ? 1 : 0)
        var perClass: [ShapedArray<Int32>?] = Array(repeating: nil, count: scores.classCount)
        var counts = Array(repeating: 0, count: scores.classCount)
        perClass[p.classIndex] = ShapedArray(shape: [scores.height, scores.width], scalars: labels)
        counts[p.classIndex] = groupCount
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
            throw .invalidParameter("curve points", problem: "expected curve indices in 0..<\(levelCount), found \(points)")
        }
    }
}

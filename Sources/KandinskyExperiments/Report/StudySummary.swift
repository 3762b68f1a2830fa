import Foundation

/// Every number of a calibration study: the coverage error of each strategy at each
/// calibration-set size over seeded draws, plus training metrics and stage timings. Written as
/// `summary.json`; the report's tables and plots are drawn from it alone.
public struct StudySummary: Codable, Sendable, Equatable {
    /// The coverage errors of one strategy at one calibration-set size.
    public struct Cell: Codable, Sendable, Equatable {
        /// The method name: `pixel`, `image`, `kmeans` or `gen-ann`.
        public var strategy: String
        /// The calibration-set size.
        public var calibrationImages: Int
        /// Mean pixelwise coverage error over the test set (one value per seeded draw).
        public var meanPixelCE: [Double]
        /// Marginal coverage error (one value per draw).
        public var marginalCE: [Double]
        /// Seconds spent calibrating (one value per draw).
        public var seconds: [Double]

        /// A cell; the three arrays have one value per draw.
        public init(strategy: String, calibrationImages: Int, meanPixelCE: [Double], marginalCE: [Double], seconds: [Double]) {
            self.strategy = strategy
            self.calibrationImages = calibrationImages
            self.meanPixelCE = meanPixelCE
            self.marginalCE = marginalCE
            self.seconds = seconds
        }

        /// The mean over draws of the mean pixelwise CE.
        public var meanCE: Double { Self.mean(meanPixelCE) }
        /// The sample standard deviation over draws (0 for one draw).
        public var spreadCE: Double { Self.standardDeviation(meanPixelCE) }

        static func mean(_ values: [Double]) -> Double {
            values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        }

        static func standardDeviation(_ values: [Double]) -> Double {
            guard values.count > 1 else { return 0 }
            let m = mean(values)
            return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        }
    }

    /// One epoch of training.
    public struct Epoch: Codable, Sendable, Equatable {
        /// The epoch number, from 1.
        public var epoch: Int
        /// The mean training loss over the epoch's batches.
        public var trainLoss: Double
        /// The mean validation loss.
        public var validationLoss: Double
        /// The validation Dice of each foreground class.
        public var validationDice: [Double]
        /// The learning rate used during the epoch.
        public var learningRate: Double
        /// Wall-clock seconds of the epoch.
        public var seconds: Double

        /// An epoch's metrics.
        public init(epoch: Int, trainLoss: Double, validationLoss: Double, validationDice: [Double], learningRate: Double, seconds: Double) {
            self.epoch = epoch
            self.trainLoss = trainLoss
            self.validationLoss = validationLoss
            self.validationDice = validationDice
            self.learningRate = learningRate
            self.seconds = seconds
        }
    }

    /// The dataset's name (`synthetic` or `coco`).
    public var dataset: String
    /// The study's seed.
    public var seed: UInt64
    /// The network's input size, [H, W].
    public var imageSize: [Int]
    /// The number of test images.
    public var testImages: Int
    /// K, the confidence bins of the coverage error.
    public var coverageBins: Int
    /// How thresholds were set: the calibration's quantile rule and group split, as a phrase
    /// (`conformal rule, groups from 50 % of the images`); nil in summaries written before the
    /// rule was recorded.
    public var thresholds: String?
    /// One cell per (strategy, calibration-set size).
    public var cells: [Cell]
    /// The training metrics per epoch.
    public var training: [Epoch]
    /// Seconds per stage, in the order the stages ran.
    public var stageSeconds: [String: Double]
    /// The stages of `stageSeconds` in the order they ran.
    public var stageOrder: [String]

    /// A summary; cells, epochs and timings are usually appended as the study runs.
    public init(dataset: String, seed: UInt64, imageSize: [Int], testImages: Int, coverageBins: Int,
                cells: [Cell] = [], training: [Epoch] = [], stageSeconds: [String: Double] = [:], stageOrder: [String] = []) {
        self.dataset = dataset
        self.seed = seed
        self.imageSize = imageSize
        self.testImages = testImages
        self.coverageBins = coverageBins
        self.cells = cells
        self.training = training
        self.stageSeconds = stageSeconds
        self.stageOrder = stageOrder
    }

    /// The strategies in the order they were first run.
    public var strategies: [String] {
        var seen: [String] = []
        for cell in cells where !seen.contains(cell.strategy) { seen.append(cell.strategy) }
        return seen
    }

    /// The calibration-set sizes, ascending.
    public var calibrationSizes: [Int] { Set(cells.map(\.calibrationImages)).sorted() }

    /// The cell of a strategy at a size.
    public func cell(_ strategy: String, _ size: Int) -> Cell? {
        cells.first { $0.strategy == strategy && $0.calibrationImages == size }
    }

    /// The paper's claim checked against these numbers: at each size, which strategy has the
    /// lowest mean CE, and whether the Kandinsky strategies beat both baselines at the small
    /// sizes while pixelwise is best at the largest.
    public var verdict: Verdict { Verdict(summary: self) }

    /// The outcome of checking the paper's claim.
    public struct Verdict: Sendable {
        /// (size, best strategy, its mean CE) for every size.
        public let bestBySize: [(size: Int, strategy: String, ce: Double)]
        /// Sizes at which a Kandinsky strategy beats both pixelwise and imagewise.
        public let kandinskyWins: [Int]
        /// Whether pixelwise calibration is best at the largest size.
        public let pixelwiseBestAtLargest: Bool
        /// The small sizes considered ("few calibration images"): the smaller half of the sizes.
        public let smallSizes: [Int]
        /// Whether the claim holds: Kandinsky best at every small size and pixelwise best at the largest.
        public var holds: Bool { !smallSizes.isEmpty && smallSizes.allSatisfy(kandinskyWins.contains) && pixelwiseBestAtLargest }

        static let kandinskyStrategies: Set<String> = ["kmeans", "gen-ann"]
        static let baselines = ["pixel", "image"]

        init(summary: StudySummary) {
            let sizes = summary.calibrationSizes
            var best: [(Int, String, Double)] = []
            var wins: [Int] = []
            for size in sizes {
                let scored = summary.strategies.compactMap { s in summary.cell(s, size).map { (s, $0.meanCE) } }.filter { $0.1.isFinite }
                if let top = scored.min(by: { $0.1 < $1.1 }) { best.append((size, top.0, top.1)) }
                let kandinsky = scored.filter { Self.kandinskyStrategies.contains($0.0) }.map(\.1).min()
                let baseline = scored.filter { Self.baselines.contains($0.0) }.map(\.1).min()
                if let kandinsky, let baseline, kandinsky < baseline { wins.append(size) }
            }
            bestBySize = best
            kandinskyWins = wins
            pixelwiseBestAtLargest = best.last?.1 == "pixel"
            smallSizes = Array(sizes.prefix(sizes.count / 2))
        }

        /// Plain sentences stating what the numbers show.
        public var sentences: [String] {
            var lines: [String] = []
            let smallList = smallSizes.map(String.init).joined(separator: ", ")
            let smallWins = smallSizes.filter(kandinskyWins.contains)
            if smallSizes.isEmpty {
                lines.append("Too few calibration sizes were run to test the claim.")
            } else if smallWins.count == smallSizes.count {
                lines.append("With few calibration images (\(smallList)), a Kandinsky strategy has a lower mean coverage error than both pixelwise and imagewise calibration at every size: the claim's first half holds here.")
            } else {
                lines.append("With few calibration images (\(smallList)), a Kandinsky strategy beats both pixelwise and imagewise calibration at \(smallWins.count) of \(smallSizes.count) sizes\(smallWins.isEmpty ? "" : " (\(smallWins.map(String.init).joined(separator: ", ")))"): the claim's first half does not fully hold here.")
            }
            if let last = bestBySize.last {
                lines.append(pixelwiseBestAtLargest
                    ? "With the most calibration images (\(last.size)), pixelwise calibration has the lowest mean coverage error (\(String(format: "%.4f", last.ce))): the claim's second half holds here."
                    : "With the most calibration images (\(last.size)), \(last.strategy) has the lowest mean coverage error (\(String(format: "%.4f", last.ce))), not pixelwise: the claim's second half does not hold here.")
            }
            lines.append(holds ? "Verdict: the paper's claim holds on this data." : "Verdict: the paper's claim does not fully hold on this data.")
            return lines
        }
    }
}

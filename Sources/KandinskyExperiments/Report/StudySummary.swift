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
        /// The seed of each draw's calibration images (`seededSubset(count:of:seed:)`): the same
        /// for every strategy at a size, which is what pairs the draws; nil in older summaries.
        public var drawSeeds: [UInt64]?
        /// The prediction sets of the evaluated class per α, one value per draw; nil in older summaries.
        public var sets: [SetAudit]?
        /// The prediction sets of the evaluated class per group and α, for strategies that
        /// group it (`kmeans`, `gen-ann`); nil otherwise and in older summaries.
        public var groupSets: [GroupAudit]?

        /// A cell; the arrays have one value per draw.
        package init(
            strategy: String, calibrationImages: Int, meanPixelCE: [Double], marginalCE: [Double], seconds: [Double],
            drawSeeds: [UInt64]? = nil, sets: [SetAudit]? = nil
        ) {
            self.strategy = strategy
            self.calibrationImages = calibrationImages
            self.meanPixelCE = meanPixelCE
            self.marginalCE = marginalCE
            self.seconds = seconds
            self.drawSeeds = drawSeeds
            self.sets = sets
        }

        /// Whether two cells were calibrated on the same draws: as many draws, and the same draw
        /// seeds where both record them.
        func isPaired(with other: Cell) -> Bool {
            guard meanPixelCE.count == other.meanPixelCE.count, !meanPixelCE.isEmpty else { return false }
            if let mine = drawSeeds, let theirs = other.drawSeeds { return mine == theirs }
            return true
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

    /// The prediction sets of one cell's evaluated class at one level α, from
    /// `CoverageAudit` on the test set, one value per draw.
    ///
    /// The audit runs on the curves with their groups set aside, so its one row of the class
    /// covers all H·W pixels: per-image coverage is the mean over test images with targets of
    /// the class of the covered fraction of their target pixels (the quantity the conformal
    /// rule controls, E ≥ 1 − α), set size the mean number of classes in a pixel's set over all
    /// test pixels, always-in share the fraction of the H·W pixels whose threshold of the class
    /// is +∞. The thresholds are the curves' own (their default indexing), as `predict-sets`
    /// reads them.
    public struct SetAudit: Codable, Sendable, Equatable {
        /// α.
        public var alpha: Double
        /// Per-image coverage of the class (one value per draw).
        public var perImageCoverage: [Double]
        /// Mean set size (one value per draw).
        public var meanSetSize: [Double]
        /// Always-in share of the class's pixels (one value per draw).
        public var alwaysInShare: [Double]

        /// An audit; the arrays have one value per draw.
        package init(
            alpha: Double, perImageCoverage: [Double] = [], meanSetSize: [Double] = [], alwaysInShare: [Double] = []
        ) {
            self.alpha = alpha
            self.perImageCoverage = perImageCoverage
            self.meanSetSize = meanSetSize
            self.alwaysInShare = alwaysInShare
        }
    }

    /// The prediction sets of one group g of the evaluated class at one level α, from the
    /// per-group rows of `CoverageAudit`, one value per draw: nil (JSON `null`) for a draw whose
    /// grouping has no group g, or whose group g holds no test target pixel.
    ///
    /// Group ids are the strategy's own: for `gen-ann` 0 is the disc, 1 and 2 the rings, 3 the
    /// outside, so a group is the same kind of region in every draw; `kmeans` clusters carry
    /// the labels k-means gave them in that draw.
    public struct GroupAudit: Codable, Sendable, Equatable {
        /// α.
        public var alpha: Double
        /// The group id g.
        public var group: Int
        /// Per-image coverage of the class within the group (one value per draw).
        public var perImageCoverage: [Double?]
        /// Mean set size over the group's pixels (one value per draw).
        public var meanSetSize: [Double?]
        /// The group's share of the H·W pixels (one value per draw).
        public var pixelShare: [Double?]

        /// An audit of group `group`; the arrays have one value per draw.
        package init(
            alpha: Double, group: Int, perImageCoverage: [Double?] = [], meanSetSize: [Double?] = [],
            pixelShare: [Double?] = []
        ) {
            self.alpha = alpha
            self.group = group
            self.perImageCoverage = perImageCoverage
            self.meanSetSize = meanSetSize
            self.pixelShare = pixelShare
        }

        /// Appends one draw's values, NaN stored as nil.
        mutating func append(perImageCoverage coverage: Double, meanSetSize size: Double, pixelShare share: Double) {
            func value(_ x: Double) -> Double? { x.isFinite ? x : nil }
            perImageCoverage.append(value(coverage))
            meanSetSize.append(value(size))
            pixelShare.append(value(share))
        }

        /// Appends nil until the arrays have `draws` values (draws in which the group was absent).
        mutating func pad(toDraws draws: Int) {
            while perImageCoverage.count < draws { perImageCoverage.append(nil) }
            while meanSetSize.count < draws { meanSetSize.append(nil) }
            while pixelShare.count < draws { pixelShare.append(nil) }
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
        package init(
            epoch: Int, trainLoss: Double, validationLoss: Double, validationDice: [Double], learningRate: Double,
            seconds: Double
        ) {
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
    /// δ, the equivalence margin of the calls (`PairedComparison`, `pipeline.tie_margin`):
    /// paired differences of mean CE within [−δ, δ] are ties; nil (read as 0) in summaries
    /// written before the margin existed.
    public var tieMargin: Double?
    /// One cell per (strategy, calibration-set size), under the study's rule (``thresholds``).
    public var cells: [Cell]
    /// The same strategies under the original's `linear` rule (groups and thresholds from all
    /// images) at the sizes of `pipeline.linear_sizes`, on the same draws as ``cells``; nil when
    /// none were run.
    public var linearCells: [Cell]?
    /// The calibrated models kept beside the report (paths relative to it), one per strategy at
    /// the smallest and largest size (draw 1), ready for `kandinsky predict`; nil when none.
    public var calibratedModels: [String]?
    /// The training metrics per epoch.
    public var training: [Epoch]
    /// Seconds per stage, in the order the stages ran.
    public var stageSeconds: [String: Double]
    /// The stages of `stageSeconds` in the order they ran.
    public var stageOrder: [String]

    /// A summary; cells, epochs and timings are usually appended as the study runs.
    package init(
        dataset: String, seed: UInt64, imageSize: [Int], testImages: Int, coverageBins: Int,
        cells: [Cell] = [], training: [Epoch] = [], stageSeconds: [String: Double] = [:], stageOrder: [String] = []
    ) {
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

    /// The paired comparisons of every size (see ``PairedComparison``): each Kandinsky strategy
    /// (`kmeans`, `gen-ann`) against `pixel` and against `image`, and `pixel` against `image`,
    /// wherever both cells exist on the same draws. The bootstrap at size n is seeded with
    /// ``bootstrapSeed(size:)``, so every pair at a size is resampled alike.
    package var comparisons: [PairedComparison] {
        var result: [PairedComparison] = []
        let strategies = self.strategies
        var pairs = strategies.filter(Verdict.kandinskyStrategies.contains).flatMap { k in
            Verdict.baselines.map { (k, $0) }
        }
        pairs.append(("pixel", "image"))
        for size in calibrationSizes {
            for (a, b) in pairs {
                guard let first = cell(a, size), let second = cell(b, size), first.isPaired(with: second) else {
                    continue
                }
                result.append(
                    PairedComparison(
                        strategy: a, baseline: b, calibrationImages: size, a: first.meanPixelCE,
                        b: second.meanPixelCE, seed: bootstrapSeed(size: size), margin: tieMargin ?? 0))
            }
        }
        return result
    }

    /// The bootstrap seed at a calibration-set size: the study's seed + the size (wrapping).
    package func bootstrapSeed(size: Int) -> UInt64 { seed &+ UInt64(truncatingIfNeeded: size) }

    /// The comparison of `strategy` against `baseline` at `size`, if both ran on the same draws.
    package func comparison(
        _ strategy: String, _ baseline: String, at size: Int, in comparisons: [PairedComparison]? = nil
    ) -> PairedComparison? {
        (comparisons ?? self.comparisons).first {
            $0.strategy == strategy && $0.baseline == baseline && $0.calibrationImages == size
        }
    }

    /// The paper's claim checked against the paired comparisons' calls (see ``Verdict``).
    public var verdict: Verdict { Verdict(summary: self) }

    /// The paper's claim — Kandinsky calibration is best with few calibration images, pixelwise
    /// calibration with many — judged from the calls of `PairedComparison` only, never from
    /// point estimates, so a difference inside the noise is a tie by construction.
    ///
    /// - **Few images** are the smaller half of the sizes (⌊S/2⌋ of S sizes). At such a size the
    ///   first half *holds* when some Kandinsky strategy beats both `pixel` and `image`; it
    ///   *fails* when every Kandinsky strategy run there is beaten by `pixel` or by `image`;
    ///   otherwise it is *undecided*. Over the small sizes: holds when it holds at every one,
    ///   fails when it fails at any, else undecided.
    /// - **Many images** is the largest size of the larger half at which `pixel` against `image`
    ///   has an interval (at least two distinct draws; a size equal to the whole calibration split
    ///   has one), or the largest size when none has. The second half holds when `pixel` beats `image` and
    ///   beats every Kandinsky strategy; fails when any strategy beats `pixel`; else undecided.
    /// - The claim holds when both halves hold, fails when either fails, and is otherwise
    ///   undecided.
    public struct Verdict: Sendable {
        /// What the calls say about (part of) the claim.
        public enum Outcome: String, Sendable {
            /// Every call needed goes the claim's way.
            case holds
            /// A call goes against it.
            case fails
            /// Some call needed is a tie.
            case undecided
        }

        /// (size, strategy, its mean CE) of the lowest mean CE at every size (a point estimate,
        /// shown in bold in the table; not used for the verdict).
        let bestBySize: [(size: Int, strategy: String, ce: Double)]
        /// The small sizes considered ("few calibration images"): the smaller half of the sizes.
        public let smallSizes: [Int]
        /// The outcome of the first half at each small size.
        public let smallSizeOutcomes: [(size: Int, outcome: Outcome)]
        /// The size the second half is judged at ("many images"), nil without sizes.
        public let largestSize: Int?
        /// The sizes above ``largestSize``, skipped because their draws are all one calibration.
        public let sizesWithoutInterval: [Int]
        /// The outcome of the second half at the largest size.
        public let largeSizeOutcome: Outcome
        /// The comparisons the verdict was built from.
        package let comparisons: [PairedComparison]

        /// The first half over all small sizes.
        public var smallSizesOutcome: Outcome {
            let outcomes = smallSizeOutcomes.map(\.outcome)
            if outcomes.isEmpty { return .undecided }
            if outcomes.contains(.fails) { return .fails }
            return outcomes.allSatisfy { $0 == .holds } ? .holds : .undecided
        }

        /// The claim as a whole.
        public var outcome: Outcome {
            if smallSizes.isEmpty { return .undecided }
            if smallSizesOutcome == .fails || largeSizeOutcome == .fails { return .fails }
            return smallSizesOutcome == .holds && largeSizeOutcome == .holds ? .holds : .undecided
        }

        /// Whether the claim holds (both halves hold).
        public var holds: Bool { outcome == .holds }

        static let kandinskyStrategies: Set<String> = ["kmeans", "gen-ann"]
        static let baselines = ["pixel", "image"]

        init(summary: StudySummary) {
            self.init(
                sizes: summary.calibrationSizes, strategies: summary.strategies, comparisons: summary.comparisons,
                bestBySize: summary.calibrationSizes.compactMap { size in
                    summary.strategies.compactMap { s in summary.cell(s, size).map { (s, $0.meanCE) } }
                        .filter { $0.1.isFinite }.min { $0.1 < $1.1 }.map { (size, $0.0, $0.1) }
                })
        }

        /// The verdict on `sizes` (ascending) from the comparisons' calls.
        package init(
            sizes: [Int], strategies: [String], comparisons: [PairedComparison],
            bestBySize: [(size: Int, strategy: String, ce: Double)] = []
        ) {
            self.bestBySize = bestBySize
            self.comparisons = comparisons
            smallSizes = Array(sizes.prefix(sizes.count / 2))
            let largeSizes = sizes.dropFirst(sizes.count / 2)
            let judged =
                largeSizes.last { size in
                    comparisons.contains {
                        $0.strategy == "pixel" && $0.baseline == "image" && $0.calibrationImages == size
                            && $0.lower != nil
                    }
                } ?? sizes.last
            largestSize = judged
            sizesWithoutInterval = judged.map { j in sizes.filter { $0 > j } } ?? []
            func call(_ a: String, _ b: String, _ size: Int) -> PairedComparison.Call? {
                comparisons.first { $0.strategy == a && $0.baseline == b && $0.calibrationImages == size }?.call
            }
            let kandinsky = strategies.filter(Self.kandinskyStrategies.contains)
            smallSizeOutcomes = smallSizes.map { size in
                let run = kandinsky.filter { k in Self.baselines.contains { call(k, $0, size) != nil } }
                if run.contains(where: { k in Self.baselines.allSatisfy { call(k, $0, size) == .beats } }) {
                    return (size, .holds)
                }
                if !run.isEmpty && run.allSatisfy({ k in Self.baselines.contains { call(k, $0, size) == .loses } }) {
                    return (size, .fails)
                }
                return (size, .undecided)
            }
            if let largest = judged {
                let againstPixel = kandinsky.compactMap { call($0, "pixel", largest) }
                let pixelImage = call("pixel", "image", largest)
                if againstPixel.contains(.beats) || pixelImage == .loses {
                    largeSizeOutcome = .fails
                } else if pixelImage == .beats && againstPixel.allSatisfy({ $0 == .loses }) {
                    largeSizeOutcome = .holds
                } else {
                    largeSizeOutcome = .undecided
                }
            } else {
                largeSizeOutcome = .undecided
            }
        }

        private func phrases(at size: Int, _ keep: (PairedComparison) -> Bool) -> String {
            comparisons.filter { $0.calibrationImages == size && keep($0) }.map(\.phrase).joined(separator: "; ")
        }

        /// Plain sentences stating the calls and what they mean for the claim; every call is
        /// quoted with its mean difference of CE and 95 % interval.
        public var sentences: [String] {
            var lines: [String] = []
            let smallList = smallSizes.map(String.init).joined(separator: ", ")
            if smallSizes.isEmpty {
                lines.append("Too few calibration sizes were run to test the claim.")
            } else {
                for (size, _) in smallSizeOutcomes {
                    lines.append(
                        "At \(size) calibration images: "
                            + phrases(at: size) { Self.kandinskyStrategies.contains($0.strategy) } + ".")
                }
                let outcomes = smallSizeOutcomes
                switch smallSizesOutcome {
                case .holds:
                    lines.append(
                        "With few calibration images (\(smallList)), a Kandinsky strategy beats both pixelwise and imagewise calibration at every size: the claim's first half holds here."
                    )
                case .fails:
                    let failed = outcomes.filter { $0.outcome == .fails }.map { String($0.size) }.joined(
                        separator: ", ")
                    lines.append(
                        "With few calibration images (\(smallList)), at \(failed) every Kandinsky strategy is beaten by a baseline: the claim's first half does not hold here."
                    )
                case .undecided:
                    let open = outcomes.filter { $0.outcome != .holds }.map { String($0.size) }.joined(separator: ", ")
                    lines.append(
                        "With few calibration images (\(smallList)), at \(open) no Kandinsky strategy beats both baselines beyond the noise, nor is every one beaten by a baseline (calls above): the claim's first half is not settled here."
                    )
                }
            }
            if let largest = largestSize {
                let calls = phrases(at: largest) { $0.baseline == "pixel" || $0.strategy == "pixel" }
                let conclusion: String
                switch largeSizeOutcome {
                case .holds:
                    conclusion = "pixelwise calibration beats every other strategy: the claim's second half holds here."
                case .fails:
                    conclusion =
                        "another strategy beats pixelwise calibration: the claim's second half does not hold here."
                case .undecided:
                    conclusion =
                        "pixelwise calibration does not beat every other strategy beyond the noise (ties): the claim's second half is not settled here."
                }
                let skipped =
                    sizesWithoutInterval.isEmpty
                    ? ""
                    : "; at \(sizesWithoutInterval.map(String.init).joined(separator: ", ")) every draw is the same calibration, so no interval is possible"
                lines.append(
                    "With the most calibration images whose draws differ (\(largest)\(skipped)): \(calls.isEmpty ? "no paired comparison" : calls); \(conclusion)"
                )
            }
            let margin = comparisons.first?.margin ?? 0
            switch outcome {
            case .holds: lines.append("Verdict: the paper's claim holds on this data.")
            case .fails: lines.append("Verdict: the paper's claim does not hold on this data.")
            case .undecided:
                lines.append(
                    "Verdict: this data does not settle the paper's claim: a call it needs is a tie (its 95 % interval reaches 0\(margin > 0 ? " or the tie margin ±" + format3(margin) : ""))."
                )
            }
            return lines
        }
    }
}

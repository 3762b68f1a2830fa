import KandinskyCalibration
import KandinskyData

/// Every configuration key the tool reads: its type, its allowed values and what it means.
///
/// ``ConfigComposer`` checks each key present in a composed configuration against its
/// declaration, then the ``crossChecks`` between keys, before any command starts work or
/// writes a file; the runs then read the values through ``Config/value(_:)``, which applies the
/// same declaration, so a range is written once. `kandinsky help-config` prints this table.
///
/// Ranges are of two kinds: what the code needs (a batch holds at least one image, a fraction
/// lies in (0, 1]) and limits that keep memory bounded by the data rather than by a number in a
/// file (a network's widest layer, the pixels of an image, the points of a curve); each key's
/// `meaning` says which and why.
///
/// ## Adding a key
///
/// Declare it once, as a property of the section it belongs to (add a section struct for a new
/// section and a property for it here):
///
/// ```swift
/// package let quantile: ConfigKey<QuantileMethod> = .choice("calibration.quantile",
///     "How a curve point is read off the sorted scores: conformal (the finite-sample quantile) or linear.")
/// ```
///
/// then read it with `try config.value(\.calibration.quantile)`. The key is found by reflection
/// on ``shared``, so it is checked at composition and listed by `help-config` with nothing else
/// to register. A condition involving several keys goes into ``crossChecks``.
package struct ConfigSchema: Sendable {
    package static let shared = ConfigSchema()

    // MARK: Top level

    package let seed: ConfigKey<UInt64> = .seed(
        "seed", "Seeds weight initialisation, shuffling, augmentation and the calibration subset.")
    package let classIndex: ConfigKey<Int> = .integer(
        "class_idx", 0...Int.max,
        "The class whose prediction sets `predict` draws (below the calibrated model's class count), and the "
            + "default of calibration.class_idx and evaluation.class_idx (below 1 + the number of data.categories; "
            + "0 is the background).")
    package let checkpoint: ConfigKey<String?> = .optional(
        .text(
            "ckpt_path",
            "A checkpoint: resumed by train, reused by pipeline, required (???) by calibrate, eval and predict."))
    package let image: ConfigKey<String> = .text(
        "image", "predict: the image (JPEG or PNG) to make prediction sets for.")
    package let alpha: ConfigKey<Double> = .number(
        "alpha", .open(0, 1),
        "predict: the miscoverage; the sets cover the true class with probability 1 − alpha.")
    package let indexing: ConfigKey<IndexingSetting> = .choice(
        "indexing",
        "predict: how the level 1 − alpha is read off the curves (auto: the curves' own, at-or-above for conformal curves)."
    )
    package let manifest: ConfigKey<String?> = .optional(
        .text(
            "manifest",
            "predict: a COCO manifest holding the image, to draw its ground truth beside the sets."))
    package let outputDirectory: ConfigKey<String> = .text(
        "output_dir", "predict: the folder the sets and images are written to.")
    package let experimentName: ConfigKey<String?> = .optional(
        .text(
            "experiment_name",
            "Set by the tool to the chosen experiment; names the run folder."))
    package let paths = Paths()
    package let data = DataKeys()
    package let model = ModelKeys()
    package let trainer = TrainerKeys()
    package let calibration = CalibrationKeys()
    package let evaluation = EvaluationKeys()
    package let pipeline = PipelineKeys()

    /// `paths.*`.
    package struct Paths: Sendable {
        package let rootDirectory: ConfigKey<String> = .text(
            "paths.root_dir", "The folder data_dir and log_dir are under by default.")
        package let dataDirectory: ConfigKey<String> = .text(
            "paths.data_dir", "Where the synthetic dataset is generated.")
        package let logDirectory: ConfigKey<String> = .text(
            "paths.log_dir",
            "Where runs write their folders (train/, calibrate/, eval/, pipeline/, predict/).")
    }

    /// `data.*`: the dataset and how its images are prepared.
    package struct DataKeys: Sendable {
        package let name: ConfigKey<String> = .text("data.name", "The dataset's name in the pipeline report.")
        package let root: ConfigKey<String> = .text("data.root", "The synthetic dataset's folder.")
        package let trainvalRoot: ConfigKey<String> = .text(
            "data.trainval_root",
            "The root holding data/ and splits/t<trainval_split>/labels_{train,val,cal}.json.")
        package let testRoot: ConfigKey<String> = .text(
            "data.test_root", "The root holding data/ and labels.json of the test set.")
        package let trainvalSplit: ConfigKey<String> = .text(
            "data.trainval_split", "The split folder's suffix: splits/t<trainval_split>/.")
        package let categories: ConfigKey<[String]> = .texts(
            "data.categories", count: 1...ConfigSchema.maximumCategories,
            "COCO category names segmented, one class each after the background; at most "
                + "\(ConfigSchema.maximumCategories) (a network's outputs are one plane per class).")
        package let batchSize: ConfigKey<Int> = .integer(
            "data.batch_size", 1...ConfigSchema.maximumBatchSize,
            "Images per training and inference batch; at most \(ConfigSchema.maximumBatchSize), since a batch's "
                + "activations are held in memory at once.")
        package let dims: ConfigKey<[Int]> = .integers(
            "data.dims", count: 2...2, each: 1...ConfigSchema.maximumSide,
            "[width, height] every image is resized and padded to; each side divisible by 2^model.net.depth, at "
                + "most \(ConfigSchema.maximumSide) pixels a side and \(ConfigSchema.maximumPixels) pixels in all (2048 "
                + "× 2048; the network's activations grow with the pixels).",
            condition: {
                $0[0] * $0[1] > ConfigSchema.maximumPixels
                    ? "at most \(ConfigSchema.maximumPixels) pixels (width × height)" : nil
            })
        package let workers: ConfigKey<Int> = .integer(
            "data.num_workers", 0...64,
            "Kept from the original's configs (PyTorch loader processes); Kandinsky decodes on its own threads and does not use it."
        )
        package let calibrationTrim: ConfigKey<Int?> = .optional(
            .integer(
                "data.cal_trim", 1...Int.max,
                "calibrate: use a seeded subset of this many calibration images (null: all of them)."))
        package let generator: ConfigKey<Bool> = .optionalSection(
            "data.generator",
            "The synthetic dataset's generator settings; present for data=synthetic and data=synthetic-anatomy, which are generated when absent."
        )
        package let generatorScene: ConfigKey<SyntheticDataset.Scene> = .choice(
            "data.generator.scene",
            "What the synthetic frames imitate: person (COCO-person: people among clutter, frames of varied aspect ratio) "
                + "or anatomy (CT slices of the pancreas task: grey frames of one size, organs of similar grey level, the "
                + "target organ at a nearly fixed position); person when absent.")
        package let generatorSeed: ConfigKey<UInt64> = .seed("data.generator.seed", "Seeds the synthetic dataset.")
        package let generatorTrain: ConfigKey<Int> = .integer(
            "data.generator.train", 0...ConfigSchema.maximumGeneratedImages,
            "Synthetic training images (must equal data.trainval_split); at most \(ConfigSchema.maximumGeneratedImages) per split."
        )
        package let generatorValidation: ConfigKey<Int> = .integer(
            "data.generator.val", 0...ConfigSchema.maximumGeneratedImages,
            "Synthetic validation images.")
        package let generatorCalibration: ConfigKey<Int> = .integer(
            "data.generator.cal", 0...ConfigSchema.maximumGeneratedImages,
            "Synthetic calibration images.")
        package let generatorTest: ConfigKey<Int> = .integer(
            "data.generator.test", 0...ConfigSchema.maximumGeneratedImages, "Synthetic test images.")
        package let generatorWidth: ConfigKey<Int> = .integer(
            "data.generator.width", 16...4096,
            "The synthetic frames' width (person frames vary in aspect ratio around width × height; anatomy frames are "
                + "exactly that size); 16 is the smallest the drawing supports.")
        package let generatorHeight: ConfigKey<Int> = .integer(
            "data.generator.height", 16...4096, "The synthetic frames' height.")
        package let augmentations: ConfigKey<Bool> = .optionalSection(
            "data.augmentations", "Training augmentation; null for none.")
        package let flip: ConfigKey<Bool> = .optionalSection(
            "data.augmentations.horizontal_flip", "The horizontal flip; null for none.")
        package let flipProbability: ConfigKey<Double> = .number(
            "data.augmentations.horizontal_flip.p", .closed(0, 1),
            "The probability of a horizontal flip.")
        package let affine: ConfigKey<Bool> = .optionalSection(
            "data.augmentations.affine", "The random affine map; null for none.")
        package let degrees: ConfigKey<Double> = .number(
            "data.augmentations.affine.degrees", .closed(0, 180),
            "The largest rotation either way, in degrees.")
        package let translate: ConfigKey<[Double]> = .numbers(
            "data.augmentations.affine.translate", count: 2...2, each: .closed(0, 1),
            "[x, y]: the largest shift as a fraction of each side; the same for both (torchvision's form).",
            condition: { $0[0] == $0[1] ? nil : "the same fraction for x and y" })
        package let scale: ConfigKey<[Double]> = .numbers(
            "data.augmentations.affine.scale", count: 2...2, each: .openClosed(0, 10),
            "[low, high]: the magnification is drawn from this range; 0 < low ≤ high ≤ 10 (a scale of 0 maps every pixel to the centre).",
            condition: { $0[0] <= $0[1] ? nil : "[low, high] with low ≤ high" })
    }

    /// `model.*`: the network, its loss, optimizer and schedule.
    package struct ModelKeys: Sendable {
        package let inputChannels: ConfigKey<Int> = .integer(
            "model.net.in_channels", 3...3, "Input planes; the images are RGB.")
        package let outputChannels: ConfigKey<Int> = .integer(
            "model.net.out_channels", 2...(ConfigSchema.maximumCategories + 1),
            "Output planes, one per class: 1 + the number of data.categories.")
        package let channels: ConfigKey<Int> = .integer(
            "model.net.channels", 2...ConfigSchema.maximumWidestLayer,
            "Channels of the first block (doubled at every level down); even, since the head halves it, and "
                + "channels × 2^(depth − 1) ≤ \(ConfigSchema.maximumWidestLayer).",
            condition: { $0 % 2 == 0 ? nil : "an even integer in 2...\(ConfigSchema.maximumWidestLayer)" })
        package let depth: ConfigKey<Int> = .integer(
            "model.net.depth", 1...ConfigSchema.maximumDepth,
            "Levels of the UNet; at most \(ConfigSchema.maximumDepth): each level doubles the widest layer, whose "
                + "weights grow with its square, and halves the image, whose sides must be divisible by 2^depth.")
        package let dropout: ConfigKey<Double> = .number(
            "model.net.dropout", .closedOpen(0, 1), "The dropout probability of every block.")
        package let keptFraction: ConfigKey<Double> = .number(
            "model.loss.k_frac", .openClosed(0, 1),
            "The fraction of each plane's pixels, the hardest, that the top-k loss counts.")
        package let classWeights: ConfigKey<[Double]?> = .optional(
            .numbers(
                "model.loss.class_weights", count: 1...(ConfigSchema.maximumCategories + 1), each: .closed(0, 1e6),
                "One weight per output plane (model.net.out_channels of them), non-negative with a positive sum, at "
                    + "most 10⁶ (they are used as 32-bit floats, relative to each other); null for equal weights.",
                condition: { $0.reduce(0, +) > 0 ? nil : "non-negative weights with a positive sum" }))
        package let learningRate: ConfigKey<Double> = .number(
            "model.optimizer.lr", .openClosed(0, 1000),
            "Adam's learning rate, the schedule's η_0; at most 1000, far above any rate that trains, so it stays "
                + "finite as a 32-bit float.")
        package let weightDecay: ConfigKey<Double> = .number(
            "model.optimizer.weight_decay", .closed(0, 1000),
            "Adam's L2 weight decay (a 32-bit float, hence the bound).")
        package let firstCycle: ConfigKey<Int> = .integer(
            "model.scheduler.T_0", 1...ConfigSchema.maximumEpochs, "Epochs in the first cosine cycle.")
        package let cycleGrowth: ConfigKey<Int> = .integer(
            "model.scheduler.T_mult", 1...1000,
            "The factor by which each cycle is longer than the previous one; at most 1000, which keeps cycle lengths far from overflowing."
        )
        package let minimumLearningRate: ConfigKey<Double> = .number(
            "model.scheduler.eta_min", .closed(0, 1000),
            "The rate each cycle approaches at its end; bounded as model.optimizer.lr.")
    }

    /// `trainer.*`.
    package struct TrainerKeys: Sendable {
        package let minEpochs: ConfigKey<Int> = .integer(
            "trainer.min_epochs", 0...ConfigSchema.maximumEpochs,
            "Kept from the original's configs; Kandinsky trains max_epochs epochs.")
        package let maxEpochs: ConfigKey<Int> = .integer(
            "trainer.max_epochs", 1...ConfigSchema.maximumEpochs,
            "Epochs to train (a resumed run continues up to this count).")
        package let validateEvery: ConfigKey<Int> = .integer(
            "trainer.check_val_every_n_epoch", 1...ConfigSchema.maximumEpochs,
            "Validate every this many epochs (and after the last).")
        package let checkpointEvery: ConfigKey<Int> = .integer(
            "trainer.checkpoint_every_n_epochs", 1...ConfigSchema.maximumEpochs,
            "Write epoch_NNNN.safetensors every this many epochs (and after the last).")
        package let keepLast: ConfigKey<Int?> = .optional(
            .integer(
                "trainer.keep_last", 0...ConfigSchema.maximumEpochs,
                "The newest epoch_NNNN.safetensors kept; older ones are deleted once a newer checkpoint is completely "
                    + "written. 0 keeps none (last.safetensors, always kept, holds the newest); null keeps every one. "
                    + "A checkpoint holds the weights and Adam's two moments: 0.6 GB at channels 128, depth 4."))
        package let keepBest: ConfigKey<Int> = .integer(
            "trainer.keep_best", 0...ConfigSchema.maximumEpochs,
            "Epoch files with the best trainer.best_metric kept besides the keep_last newest; best.safetensors "
                + "names the best of them. 0 keeps none for their metric and writes no best.safetensors.")
        package let bestMetric: ConfigKey<String> = .text(
            "trainer.best_metric",
            "The metrics.csv column that ranks checkpoints, its direction fixed by its name: val_loss (lower is "
                + "better), val_dice (the foreground classes' mean Dice) or val_dice_<category> (one class's), higher "
                + "is better. Epochs that are not validated are not ranked.",
            condition: { name in
                name == "val_loss" || name == "val_dice"
                    || (name.hasPrefix("val_dice_") && name.count > "val_dice_".count)
                    ? nil : "val_loss, val_dice or val_dice_<category>"
            })
    }

    /// `calibration.*`: how scores are grouped into curves.
    package struct CalibrationKeys: Sendable {
        package let method: ConfigKey<GroupingSpecification.Method> = .choice(
            "calibration.method", "The grouping strategy.")
        package let quantile: ConfigKey<QuantileRule> = .choice(
            "calibration.quantile",
            "How pooled scores become thresholds: conformal (a finite-sample guarantee per image; +inf where a pool "
                + "has too few images) or linear (the original's numpy quantiles, NaN where a pool has no score).")
        package let classes: ConfigKey<[Int]?> = .optional(
            .integers(
                "calibration.classes", count: 1...(ConfigSchema.maximumCategories + 1),
                each: 0...Int.max,
                "The classes kmeans and gen-ann group, distinct, each below 1 + the number of data.categories; "
                    + "null for every class, [1] as the original."))
        package let groupSplit: ConfigKey<String> = .text(
            "calibration.group_split",
            "Which images choose kmeans/gen-ann groups: auto (0.5 under conformal, none under linear), none (all "
                + "images choose the groups and set the thresholds: the paper's variant, not covered by the guarantee) "
                + "or a fraction in (0, 1) drawn with calibration.seed.")
        package let fallback: ConfigKey<ThresholdFallback> = .choice(
            "calibration.fallback",
            "What a pool that cannot reach a level takes under conformal: none (+inf, always in), group or image.")
        package let curvePoints: ConfigKey<[Int]> = .integers(
            "calibration.curve_points", count: 1...100, each: 0...Int.max,
            "Curve indices used as pixel features by kmeans and gen-ann; each below the curve count.")
        package let curveCount: ConfigKey<Int?> = .optional(
            .integer(
                "calibration.curve_count", 2...ConfigSchema.maximumCurveCount,
                "Q, the points of every curve, at least 2, at most \(ConfigSchema.maximumCurveCount) (the curves hold "
                    + "Q × classes × pixels numbers); null for the rule's default: 101 under conformal (levels 0, 0.01, …, 1), "
                    + "100 under linear (the original's)."))
        package let precision: ConfigKey<ScorePrecision> = .choice(
            "calibration.precision", "How scores are computed from the probabilities.")
        package let clusters: ConfigKey<Int> = .integer("calibration.n_clusters", 1...256, "k of kmeans.")
        package let restarts: ConfigKey<Int> = .integer(
            "calibration.kmeans_restarts", 1...1000, "Seeded restarts of kmeans.")
        package let bounds: ConfigKey<[[Double]]> = .intervals(
            "calibration.bounds", names: ["cx", "cy", "r1", "r2", "r3"], each: .closed(-1e6, 1e6),
            "gen-ann's search bounds of the annuli's centre offset (cx, cy) and radii (r1, r2, r3), in pixels.")
        package let populationSize: ConfigKey<Int> = .integer(
            "calibration.pop_size", 4...1000,
            "gen-ann's differential-evolution population; rand/1 mutation needs 4.")
        package let mutation: ConfigKey<Double> = .number(
            "calibration.mutation_factor", .closed(0, 2),
            "F of gen-ann's rand/1 mutation; differential evolution is defined for F in [0, 2].")
        package let crossover: ConfigKey<Double> = .number(
            "calibration.crossover_factor", .closed(0, 1),
            "CR, the probability of gen-ann's binomial crossover.")
        package let maxGenerations: ConfigKey<Int> = .integer(
            "calibration.max_generations", 0...100_000, "gen-ann's generation limit.")
        package let tolerance: ConfigKey<Double> = .number(
            "calibration.tol", .atLeast(0),
            "gen-ann stops when the population's fitness spread falls below this.")
        package let seed: ConfigKey<UInt64> = .seed(
            "calibration.seed", "Seeds k-means++, differential evolution and the group split.")
    }

    /// `evaluation.*`.
    package struct EvaluationKeys: Sendable {
        package let classIndex: ConfigKey<Int> = .integer(
            "evaluation.class_idx", 0...Int.max,
            "The class evaluated; below 1 + the number of data.categories.")
        package let bins: ConfigKey<Int> = .integer(
            "evaluation.bins", 1...ConfigSchema.maximumBins,
            "K, the confidence bins of the coverage error; at most \(ConfigSchema.maximumBins) (per-pixel counts are kept for every bin)."
        )
        package let indexing: ConfigKey<IndexingSetting> = .choice(
            "evaluation.indexing",
            "How confidences are read off the curves (auto: the curves' own, at-or-above for conformal curves).")
        package let alphas: ConfigKey<[Double]> = .numbers(
            "evaluation.alphas", count: 1...100, each: .open(0, 1),
            "The miscoverage levels α of the per-class, per-group coverage audit.")
        package let precision: ConfigKey<ScorePrecision> = .choice(
            "evaluation.precision", "How test scores are computed.")
        package let eceBins: ConfigKey<Int> = .integer(
            "evaluation.ece_bins", 1...ConfigSchema.maximumBins, "Bins of the probability ECE.")
        package let reliabilityPixel: ConfigKey<[Int]?> = .optional(
            .integers(
                "evaluation.reliability_pixel", count: 2...2, each: 0...Int.max,
                "[row, column] of the per-pixel diagrams, inside data.dims; null for the image centre."))
    }

    /// `pipeline.*`.
    package struct PipelineKeys: Sendable {
        package let outputDirectory: ConfigKey<String> = .text(
            "pipeline.output_dir", "Where report.html, report.md and summary.json are written.")
        package let strategies: ConfigKey<[GroupingSpecification.Method]> = .choices(
            "pipeline.strategies", count: 1...16,
            "The strategies calibrated and compared.")
        package let sizes: ConfigKey<[Int]> = .integers(
            "pipeline.calibration_sizes", count: 1...100, each: 1...Int.max,
            "Calibration-set sizes studied (sizes beyond the calibration split are skipped).")
        package let smallDraws: ConfigKey<Int> = .integer(
            "pipeline.draws.small", 1...ConfigSchema.maximumDraws,
            "Seeded draws of the calibration set at sizes up to draws.small_size_limit, shared by every strategy "
                + "(paired comparisons); at most \(ConfigSchema.maximumDraws): draw seeds are size · 1000 + draw streams."
        )
        package let largeDraws: ConfigKey<Int> = .integer(
            "pipeline.draws.large", 1...ConfigSchema.maximumDraws,
            "Seeded draws at larger sizes (a size equal to the whole calibration split is calibrated once).")
        package let smallLimit: ConfigKey<Int> = .integer(
            "pipeline.draws.small_size_limit", 0...Int.max,
            "Sizes up to this get draws.small draws; larger ones draws.large.")
        package let coverageAlphas: ConfigKey<[Double]> = .numbers(
            "pipeline.coverage_alphas", count: 1...20, each: .open(0, 1),
            "The miscoverage levels α at which the report audits the prediction sets.")
        package let tieMargin: ConfigKey<Double> = .number(
            "pipeline.tie_margin", .closedOpen(0, 1),
            "δ: a strategy beats another only when the 95 % interval of their paired CE difference lies beyond ±δ (0: beyond 0)."
        )
        package let linearSizes: ConfigKey<[Int]> = .integers(
            "pipeline.linear_sizes", count: 0...100, each: 1...Int.max,
            "Calibration-set sizes at which every strategy is also calibrated with the original's linear rule, on the same draws ([] for none)."
        )
        package let alpha: ConfigKey<Double> = .number(
            "pipeline.alpha", .open(0, 1), "The miscoverage of the report's example prediction sets.")
        package let exampleImages: ConfigKey<Int> = .integer(
            "pipeline.example_images", 0...100,
            "Test images shown with their prediction sets in the report.")
    }

    // MARK: Limits

    /// Classes besides the background.
    package static let maximumCategories = 64
    /// Images per batch.
    package static let maximumBatchSize = 1024
    /// Pixels of a side of data.dims.
    package static let maximumSide = 8192
    /// Pixels of data.dims (2048 × 2048); the original trains at 320 × 240.
    package static let maximumPixels = 2048 * 2048
    /// Levels of the UNet.
    package static let maximumDepth = 8
    /// Channels of the widest layer, channels × 2^(depth − 1): twice the original's 128 × 2³,
    /// whose bottleneck weights (2 × 9 × 1024² floats) and Adam moments take about 300 MB.
    package static let maximumWidestLayer = 2048
    /// Epochs, cycles and intervals of training.
    package static let maximumEpochs = 1_000_000
    /// Q, the points of a curve (the original uses 100).
    package static let maximumCurveCount = 1000
    /// Draws of the calibration set at one size in the study.
    package static let maximumDraws = 1000
    /// Bins of the coverage error and the ECE (the original uses 20).
    package static let maximumBins = 1000
    /// Images per split of the synthetic dataset.
    package static let maximumGeneratedImages = 1_000_000

    // MARK: Every key

    /// Every declared key, in declaration order, found by reflection on ``shared``.
    package static let keys: [any ConfigKeyDescription] = {
        func collect(_ value: Any) -> [any ConfigKeyDescription] {
            if let key = value as? any ConfigKeyDescription { return [key] }
            return Mirror(reflecting: value).children.flatMap { collect($0.value) }
        }
        return collect(shared)
    }()

    /// Checks every declared key present in `config`, then ``crossChecks``.
    ///
    /// - Throws: the first ``ConfigError``: the key, the value, what was expected, the source.
    package static func validate(_ config: Config) throws(ConfigError) {
        for key in keys { try key.check(in: config) }
        try checkConditions(config)
    }

    /// Checks ``crossChecks`` alone. The settings readers call it, since a configuration built
    /// in code (`Config(root:)`) has not been through ``ConfigComposer``.
    package static func checkConditions(_ config: Config) throws(ConfigError) {
        for check in crossChecks { try check.verify(config) }
    }
}

/// A condition between several keys of ``ConfigSchema``, checked once each key alone is valid.
package struct ConfigCrossCheck: Sendable {
    /// What must hold, for `help-config`.
    package let rule: String
    /// Throws when the condition fails for keys that are all present.
    package let verify: @Sendable (Config) throws(ConfigError) -> Void
}

extension ConfigSchema {
    /// The conditions between keys; each is skipped when one of its keys is absent or `???`.
    package static let crossChecks: [ConfigCrossCheck] = [
        // `predict` has no model section: its class_idx is checked against the calibrated model's
        // classes once the file is read, before anything is written.
        ConfigCrossCheck(
            rule:
                "calibration.classes, evaluation.class_idx and (with a model section) class_idx are below 1 + the number of data.categories; calibration.classes are distinct"
        ) { config throws(ConfigError) in
            guard let categories = present(\.data.categories, in: config) else { return }
            let hasModel = config.node(shared.model.outputChannels.path) != nil
            for key in hasModel ? [\ConfigSchema.classIndex, \.evaluation.classIndex] : [\.evaluation.classIndex] {
                guard let index = present(key, in: config), index > categories.count else { continue }
                let path = shared[keyPath: key].path
                throw inconsistent(
                    path, value: "\(index)",
                    problem:
                        "expected a class index in 0...\(categories.count) (the background and the \(categories.count) data.categories \(categories))",
                    in: config)
            }
            if let classesOrNull = present(\.calibration.classes, in: config), let classes = classesOrNull {
                let path = shared.calibration.classes.path
                if let bad = classes.first(where: { $0 > categories.count }) {
                    throw inconsistent(
                        path, value: "\(classes)",
                        problem:
                            "class \(bad) is not a class index in 0...\(categories.count) (the background and the \(categories.count) data.categories \(categories))",
                        in: config)
                }
                if Set(classes).count != classes.count {
                    throw inconsistent(
                        path, value: "\(classes)", problem: "expected distinct class indices",
                        in: config)
                }
            }
        },
        ConfigCrossCheck(rule: "calibration.group_split is auto, none or a fraction in (0, 1)") {
            config throws(ConfigError) in
            guard let text = present(\.calibration.groupSplit, in: config), (try? GroupSplitSetting(text)) == nil else {
                return
            }
            throw inconsistent(
                shared.calibration.groupSplit.path, value: text, problem: "expected auto, none or a fraction in (0, 1)",
                in: config)
        },
        ConfigCrossCheck(rule: "trainer.best_metric val_dice_<category> names one of data.categories") {
            config throws(ConfigError) in
            guard let categories = present(\.data.categories, in: config),
                let name = present(\.trainer.bestMetric, in: config),
                CheckpointMetric(name, classNames: categories) == nil
            else { return }
            throw inconsistent(
                "trainer.best_metric", value: name,
                problem: "expected one of " + CheckpointMetric.names(classNames: categories),
                in: config)
        },
        ConfigCrossCheck(rule: "model.net.out_channels is 1 + the number of data.categories") {
            config throws(ConfigError) in
            guard let categories = present(\.data.categories, in: config),
                let outputs = present(\.model.outputChannels, in: config),
                outputs != categories.count + 1
            else { return }
            throw inconsistent(
                "model.net.out_channels", value: "\(outputs)",
                problem:
                    "expected \(categories.count + 1), one plane per class (the background and the \(categories.count) data.categories \(categories))",
                in: config)
        },
        ConfigCrossCheck(rule: "model.loss.class_weights has model.net.out_channels weights") {
            config throws(ConfigError) in
            guard let outputs = present(\.model.outputChannels, in: config),
                let weightsOrNull = present(\.model.classWeights, in: config),
                let weights = weightsOrNull, weights.count != outputs
            else { return }
            throw inconsistent(
                "model.loss.class_weights",
                value: ConfigLimits.abbreviated(
                    "[" + weights.map(ConfigValueType.format).joined(separator: ", ") + "]"),
                problem: "expected \(outputs) weights, one per output plane (model.net.out_channels)",
                in: config)
        },
        ConfigCrossCheck(rule: "model.net.channels × 2^(model.net.depth − 1) ≤ \(maximumWidestLayer)") {
            config throws(ConfigError) in
            guard let channels = present(\.model.channels, in: config), let depth = present(\.model.depth, in: config),
                channels << (depth - 1) > maximumWidestLayer
            else { return }
            throw inconsistent(
                "model.net.channels", value: "\(channels)",
                problem:
                    "with model.net.depth \(depth) the widest layer would have \(channels << (depth - 1)) channels, above the limit of \(maximumWidestLayer)",
                in: config)
        },
        ConfigCrossCheck(rule: "both sides of data.dims are divisible by 2^model.net.depth") {
            config throws(ConfigError) in
            guard let dims = present(\.data.dims, in: config), let depth = present(\.model.depth, in: config) else {
                return
            }
            let step = 1 << depth
            guard dims.contains(where: { $0 % step != 0 }) else { return }
            throw inconsistent(
                "data.dims", value: "\(dims)",
                problem: "expected sides divisible by \(step) (2^model.net.depth, with depth \(depth))",
                in: config)
        },
        ConfigCrossCheck(
            rule:
                "every calibration.curve_points index is below the curve count (calibration.curve_count, or the rule's default)"
        ) { config throws(ConfigError) in
            guard let points = present(\.calibration.curvePoints, in: config) else { return }
            let rule = present(\.calibration.quantile, in: config) ?? .conformal
            let count =
                (present(\.calibration.curveCount, in: config) ?? nil)
                ?? Calibrator<PixelwiseGrouping>.defaultLevelCount(for: rule)
            guard let bad = points.first(where: { $0 >= count }) else { return }
            throw inconsistent(
                "calibration.curve_points", value: "\(points)",
                problem: "index \(bad) is not below the curve count (\(count))",
                in: config)
        },
        ConfigCrossCheck(rule: "evaluation.reliability_pixel [row, column] lies inside data.dims [width, height]") {
            config throws(ConfigError) in
            guard let dims = present(\.data.dims, in: config),
                let pixelOrNull = present(\.evaluation.reliabilityPixel, in: config),
                let pixel = pixelOrNull, pixel[0] >= dims[1] || pixel[1] >= dims[0]
            else { return }
            throw inconsistent(
                "evaluation.reliability_pixel", value: "\(pixel)",
                problem:
                    "expected a row below \(dims[1]) and a column below \(dims[0]) (data.dims is [width, height] = \(dims))",
                in: config)
        },
    ]

    /// `ConfigError.inconsistent(_:value:problem:source:)` of `key`, naming the file or override
    /// its value came from.
    private static func inconsistent(_ key: String, value: String, problem: String, in config: Config) -> ConfigError {
        .inconsistent(key, value: value, problem: problem, source: config.sources.source(of: key))
    }

    /// The value of `key` when it is present and set (not `???`); nil otherwise. Only called
    /// after the key alone was checked, so reading cannot fail.
    private static func present<Value>(_ key: KeyPath<ConfigSchema, ConfigKey<Value>>, in config: Config) -> Value? {
        guard let node = config.node(shared[keyPath: key].path), !node.isMissingMarker else { return nil }
        return try? config.value(key)
    }

    /// The schema as `kandinsky help-config` prints it: every key (those starting with `prefix`
    /// when given) with its type, range and meaning, then the conditions between keys and the
    /// document limits.
    package static func helpText(prefix: String? = nil) -> String {
        var lines: [String] = []
        for key in keys where prefix.map({ key.path == $0 || key.path.hasPrefix($0 + ".") }) ?? true {
            lines.append("\(key.path): \(key.typeDescription)")
            lines.append("    \(key.meaning)")
        }
        if prefix == nil {
            lines.append("")
            lines.append("Conditions between keys:")
            for check in crossChecks { lines.append("  - \(check.rule)") }
            lines.append("")
            lines.append(
                "Every file and override is at most \(ConfigLimits.maximumDepth) levels deep and holds at most \(ConfigLimits.maximumNodeCount) values once aliases and references are expanded."
            )
        }
        return lines.joined(separator: "\n")
    }
}

/// `indexing` and `evaluation.indexing`: a ``ThresholdIndexing`` or `auto`, the curves' own.
package enum IndexingSetting: String, CaseIterable, Sendable {
    case auto
    case atOrAbove = "at-or-above"
    case interpolated
    case reference

    /// The indexing asked for; nil for the curves' own.
    package var indexing: ThresholdIndexing? {
        switch self {
        case .auto: nil
        case .atOrAbove: .atOrAbove
        case .interpolated: .interpolated
        case .reference: .reference
        }
    }
}

/// `calibration.group_split`: `auto` (nil: the rule's default), `none` or a fraction in (0, 1).
package struct GroupSplitSetting: Sendable {
    package let split: GroupSplit?

    package struct Invalid: Error {}

    package init(_ text: String) throws(Invalid) {
        switch text {
        case "auto": split = nil
        case "none": split = .allImages
        default:
            guard let fraction = Double(text), fraction > 0, fraction < 1 else { throw Invalid() }
            split = .fraction(fraction)
        }
    }
}

import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyModels

/// `kandinsky pipeline`: the whole study of the paper on one dataset.
///
/// 1. Data: the synthetic dataset is generated when absent (COCO-format data is read as is).
/// 2. Training (``TrainingRun``), unless `ckpt_path` names a checkpoint to reuse.
/// 3. The network's probabilities on the whole calibration split and on the test split.
/// 4. For every calibration-set size in `pipeline.calibration_sizes` (sizes beyond the split
///    are skipped) and every seeded draw of that many calibration images
///    (`pipeline.draws.small` draws up to `pipeline.draws.small_size_limit` images,
///    `pipeline.draws.large` above; one at a size equal to the whole split, whose draws would
///    all be the same calibration), every strategy of `pipeline.strategies` is calibrated on
///    the same images (the draw's seed, `drawSeed(size:draw:seed:)`, depends on the size and
///    the draw only, so the strategies' results are paired) and evaluated on the test split:
///    coverage error, and the prediction sets' coverage, size and always-in share at every α of
///    `pipeline.coverage_alphas` (``StudySummary/SetAudit``).
/// 5. `report.html`, `report.md` and `summary.json` in `pipeline.output_dir`: the table of mean
///    pixelwise coverage error by strategy × size with bootstrap intervals over draws, the paired
///    differences and their calls (`PairedComparison`), the prediction-set table, CE against
///    size, per-image coverage against α and set size against size (`StudyCharts`), the CE
///    maps, coverage diagrams, Kandinsky masks and example prediction sets of draw 1 at the
///    smallest and largest size (`FigureCollector`), the training curves, the time of every
///    stage, and the verdict on the paper's claim built from the calls (``StudySummary/Verdict``).
public struct Pipeline {
    /// The composed `pipeline` configuration.
    public let config: Config
    /// Produces the splits once the data exists (after step 1).
    public let loadData: () throws -> DataSplits
    /// Generates the dataset when it is missing; returns whether it did.
    public let prepareData: () throws -> Bool

    /// A study over `config`; the data closures let tests substitute small splits.
    public init(config: Config, prepareData: @escaping () throws -> Bool, loadData: @escaping () throws -> DataSplits) {
        self.config = config
        self.prepareData = prepareData
        self.loadData = loadData
    }

    /// The pipeline's own settings.
    struct Settings {
        var outputDirectory: URL
        var strategies: [GroupingSpecification.Method]
        var sizes: [Int]
        /// Draws at sizes up to ``smallLimit`` (`pipeline.draws.small`).
        var smallDraws: Int
        /// Draws at larger sizes (`pipeline.draws.large`).
        var largeDraws: Int
        /// The largest size that gets ``smallDraws`` (`pipeline.draws.small_size_limit`).
        var smallLimit: Int
        var alpha: Double
        var exampleImages: Int
        /// The levels α of the prediction-set audit (`pipeline.coverage_alphas`).
        var coverageAlphas: [Double]
        /// δ, the equivalence margin of the calls (`pipeline.tie_margin`).
        var tieMargin: Double
        /// Sizes at which every strategy is also calibrated with the `linear` rule (`pipeline.linear_sizes`).
        var linearSizes: [Int]

        /// The draws at a calibration-set size.
        func draws(at size: Int) -> Int { size <= smallLimit ? smallDraws : largeDraws }

        init(config: Config) throws {
            outputDirectory = URL(fileURLWithPath: try config.value(\.pipeline.outputDirectory))
            strategies = try config.value(\.pipeline.strategies)
            sizes = try config.value(\.pipeline.sizes).sorted()
            smallDraws = try config.value(\.pipeline.smallDraws)
            largeDraws = try config.value(\.pipeline.largeDraws)
            smallLimit = try config.value(\.pipeline.smallLimit)
            alpha = try config.value(\.pipeline.alpha)
            exampleImages = try config.value(\.pipeline.exampleImages)
            coverageAlphas = try config.value(\.pipeline.coverageAlphas)
            tieMargin = try config.value(\.pipeline.tieMargin)
            linearSizes = try config.value(\.pipeline.linearSizes)
        }
    }

    /// The seed of draw `draw` (from 0) of `size` calibration images in a study seeded `seed`:
    /// the first output of `SeededGenerator.stream(size · 1000 + draw, of: seed)`. It does not
    /// depend on the strategy, so every strategy is calibrated on the same images,
    /// `seededSubset(count: size, of: calibrationImages, seed:)`.
    package static func drawSeed(size: Int, draw: Int, seed: UInt64) -> UInt64 {
        var generator = SeededGenerator.stream(size * 1000 + draw, of: seed)
        return generator.next()
    }

    /// The file name of the calibrated model the report keeps for a strategy at a size (draw 1):
    /// `gen-ann-n10.cmodel.safetensors`.
    package static func calibratedModelName(strategy: GroupingSpecification.Method, size: Int) -> String {
        "\(strategy.rawValue)-n\(size).cmodel.safetensors"
    }

    /// Runs the study and returns the folder holding the report.
    @discardableResult
    public func run(progressStyle: ProgressReporter.Style = .automatic, log: (String) -> Void = { print($0) }) throws
        -> URL
    {
        let settings = try Settings(config: config)
        var clock = StageClock()
        let seed = try config.value(\.seed)

        if try clock.time("generate data", prepareData) {
            log("Generated the synthetic dataset under \(try config.value(\.data.root))")
        }
        let data = try loadData()
        // Checked against the data before training writes anything.
        let sizes = settings.sizes.filter { $0 <= data.calibration.count }
        guard !sizes.isEmpty else {
            throw ExperimentError.inconsistent(
                "the calibration split has \(data.calibration.count) images, fewer than every size in pipeline.calibration_sizes \(settings.sizes)"
            )
        }
        log(
            "Data: \(data.train.count) train, \(data.validation.count) val, \(data.calibration.count) calibration, \(data.test.count) test images"
        )
        let (checkpoint, training) = try trainedCheckpoint(data, clock: &clock, progressStyle: progressStyle, log: log)

        var model = try CalibrationRun.loadModel(checkpoint, config: config)
        let batchSize = try config.value(\.data.batchSize)
        let calibrationOutputs = try clock.time("infer calibration split") {
            try NetworkOutputs(
                model: &model, dataset: data.calibration, batchSize: batchSize, title: "calibration images",
                progressStyle: progressStyle)
        }
        let testOutputs = try clock.time("infer test split") {
            try NetworkOutputs(
                model: &model, dataset: data.test, batchSize: batchSize, title: "test images",
                progressStyle: progressStyle)
        }

        let baseCalibration = try CalibrationSettings(config: config)
        let evaluationSettings = try EvaluationSettings(config: config)
        try FileManager.default.createDirectory(at: settings.outputDirectory, withIntermediateDirectories: true)
        let figures = FigureCollector(directory: settings.outputDirectory)
        let study = try calibrateCells(
            calibrationOutputs, testOutputs, sizes: sizes, settings: settings,
            base: baseCalibration, evaluation: evaluationSettings, model: &model,
            checkpoint: checkpoint, figures: figures, clock: &clock,
            progressStyle: progressStyle, log: log)

        var summary = StudySummary(
            dataset: try config.value(\.data.name), seed: seed,
            imageSize: Array(testOutputs.probabilities.shape[2...]), testImages: testOutputs.count,
            coverageBins: evaluationSettings.bins, cells: study.cells, training: training)
        summary.thresholds = baseCalibration.description
        summary.tieMargin = settings.tieMargin
        summary.linearCells = study.linearCells.isEmpty ? nil : study.linearCells
        summary.calibratedModels = study.keptModels
        try writeReport(
            &summary, figures: figures, classNames: data.classNames, clock: clock,
            into: settings.outputDirectory, log: log)
        return settings.outputDirectory
    }

    /// The checkpoint the study calibrates: `ckpt_path` when set, else the last checkpoint of a
    /// ``TrainingRun`` on `data`, with the epochs it trained (none for a reused checkpoint).
    ///
    /// - Throws: ``ExperimentError`` of kind ``ExperimentError/Kind/interrupted`` when Ctrl-C stopped the training.
    func trainedCheckpoint(
        _ data: DataSplits, clock: inout StageClock, progressStyle: ProgressReporter.Style,
        log: (String) -> Void
    ) throws -> (checkpoint: String, training: [StudySummary.Epoch]) {
        if let reused = try config.value(\.checkpoint) {
            log("Reusing checkpoint \(reused)")
            return (reused, [])
        }
        let result = try clock.time("train") {
            try TrainingRun(config: config, data: data).run(progressStyle: progressStyle)
        }
        if result.interrupted {
            throw ExperimentError(
                "training was interrupted; the last checkpoint is \(result.lastCheckpoint.path)",
                kind: .interrupted)
        }
        log("Trained: \(result.lastCheckpoint.path)")
        return (result.lastCheckpoint.path, result.metrics.epochs)
    }

    /// Every strategy × size cell of the study (and, at `pipeline.linear_sizes`, its linear-rule
    /// twin), calibrated and evaluated by `runner`, strategy by strategy, size by size; draw 1 at
    /// the smallest and largest size adds its figures to `figures` and its calibrated model to
    /// `models/` in the output folder.
    func calibrateCells(
        _ calibrationOutputs: NetworkOutputs, _ testOutputs: NetworkOutputs, sizes: [Int],
        settings: Settings, base: CalibrationSettings, evaluation: EvaluationSettings,
        model: inout UNet, checkpoint: String, figures: FigureCollector, clock: inout StageClock,
        progressStyle: ProgressReporter.Style, log: (String) -> Void
    ) throws
        -> (cells: [StudySummary.Cell], linearCells: [StudySummary.Cell], keptModels: [String])
    {
        // A draw of the whole split is the whole split: repeating it would repeat one calibration.
        let drawCount = { (size: Int) in size == calibrationOutputs.count ? 1 : settings.draws(at: size) }
        if let whole = sizes.last, whole == calibrationOutputs.count, settings.draws(at: whole) > 1 {
            log(
                "At \(whole) images every draw is the whole calibration split, the same calibration: it is calibrated once, and the report's calls there have no interval"
            )
        }
        let linearSizes = sizes.filter(settings.linearSizes.contains)
        let runs =
            (sizes.reduce(0) { $0 + drawCount($1) } + linearSizes.reduce(0) { $0 + drawCount($1) })
            * settings.strategies.count
        let progress = ProgressReporter(title: "calibrate + evaluate", total: runs, style: progressStyle)
        let coverage = CoverageEvaluation(
            binCount: evaluation.bins, indexing: evaluation.indexing,
            precision: evaluation.precision, classIndex: evaluation.classIndex)
        let cellRunner = CellRunner(
            calibrationOutputs: calibrationOutputs, testOutputs: testOutputs,
            seed: try config.value(\.seed), coverage: coverage,
            audit: CoverageAudit(
                alphas: settings.coverageAlphas, indexing: evaluation.indexing,
                precision: evaluation.precision, wholeClassRows: true),
            classIndex: evaluation.classIndex, progress: progress)
        let modelsDirectory = settings.outputDirectory.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: modelsDirectory, withIntermediateDirectories: true)
        var keptModels: [String] = []
        var cells: [StudySummary.Cell] = []
        var linearCells: [StudySummary.Cell] = []
        for strategy in settings.strategies {
            var specification = base
            specification.grouping = try CalibrationSettings.grouping(config: config, method: strategy)
            for size in sizes {
                let shown = size == sizes.first || size == sizes.last
                let draws = drawCount(size)
                cells.append(
                    try cellRunner.cell(specification, size: size, draws: draws, clock: &clock) {
                        draw, drawSeed, curves, result in
                        guard draw == 0 && shown else { return }
                        try figures.add(
                            curves: curves, result: result, size: size,
                            draw: DrawLabel(index: draw, count: draws, seed: drawSeed), testOutputs: testOutputs,
                            alpha: settings.alpha, exampleImages: settings.exampleImages,
                            classIndex: evaluation.classIndex)
                        let name = Self.calibratedModelName(strategy: strategy, size: size)
                        try CalibrationRun.writeCalibratedModel(
                            curves, model: &model, checkpoint: checkpoint, config: config,
                            to: modelsDirectory.appendingPathComponent(name))
                        keptModels.append("models/" + name)
                    })
                if linearSizes.contains(size) {
                    var linear = specification
                    (linear.rule, linear.groupSplit, linear.curveCount) = (.linear, nil, nil)
                    linearCells.append(
                        try cellRunner.cell(linear, size: size, draws: draws, clock: &clock) { _, _, _, _ in })
                }
            }
        }
        progress.finish()
        return (cells, linearCells, keptModels)
    }

    /// Adds the study's charts (and the training curves, when it trained) to `figures`, writes
    /// `report.html`, `report.md` and `summary.json` into `directory` and logs the table and the verdict.
    func writeReport(
        _ summary: inout StudySummary, figures: FigureCollector, classNames: [String], clock: StageClock,
        into directory: URL, log: (String) -> Void
    ) throws {
        if !summary.training.isEmpty {
            let metrics = MetricsLog(classNames: classNames.dropFirst().map { $0 }, epochs: summary.training)
            figures.figures.append(
                ReportFigure(section: "Training", title: "Loss", content: .svg(metrics.lossChart.svg)))
            figures.figures.append(
                ReportFigure(section: "Training", title: "Validation Dice", content: .svg(metrics.diceChart.svg)))
        }
        figures.figures.insert(
            ReportFigure(
                section: "Coverage error against calibration-set size",
                title: "Mean pixelwise CE (error bars: spread over draws)",
                content: .svg(ReportWriter.coverageErrorChart(summary).svg)), at: 0)
        figures.figures.insert(contentsOf: StudyCharts.figures(summary), at: 1)
        summary.stageSeconds = clock.seconds
        summary.stageOrder = clock.order
        try ReportWriter(directory: directory).write(
            summary: summary, figures: figures.figures,
            title: "Kandinsky calibration study (\(summary.dataset))")
        log(ReportWriter.markdownTable(summary))
        for sentence in summary.verdict.sentences { log(sentence) }
        log("Report: \(directory.appendingPathComponent("report.html").path)")
    }
}

/// Wall-clock seconds per named stage, in the order stages first ran.
struct StageClock {
    private(set) var seconds: [String: Double] = [:]
    private(set) var order: [String] = []

    mutating func add(_ stage: String, _ elapsed: Double) {
        if seconds[stage] == nil { order.append(stage) }
        seconds[stage, default: 0] += elapsed
    }

    mutating func time<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let started = Date()
        defer { add(stage, Date().timeIntervalSince(started)) }
        return try body()
    }
}

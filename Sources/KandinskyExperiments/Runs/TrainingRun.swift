import Foundation
import KandinskyCore
import KandinskyData
import KandinskyModels

/// `kandinsky train`: trains the UNet of `model.net` on the training split, validates every
/// `trainer.check_val_every_n_epoch` epochs, and writes into
/// `logs/train/runs/<experiment>/<timestamp>/`:
/// - `config.yaml`, the fully resolved configuration;
/// - `metrics.csv` (see ``MetricsLog``) and `val_loss.svg`, `val_dice.svg`;
/// - `checkpoints/epoch_NNNN.safetensors` every `trainer.checkpoint_every_n_epochs` epochs and
///   `checkpoints/last.safetensors` after every epoch: weights under their PyTorch names,
///   Adam's moments, the epoch, the learning rate and the configuration (metadata `config`);
/// - `checkpoints/best.safetensors`, the epoch checkpoint best by `trainer.best_metric`.
///
/// Only the `trainer.keep_last` newest epoch files and the `trainer.keep_best` best are kept;
/// the others are deleted once a newer checkpoint is completely written (see
/// `CheckpointFolder` and `CheckpointRetention`).
///
/// `ckpt_path=…` resumes: the weights, optimizer, epoch and schedule continue exactly (with
/// dropout 0, a resumed run gives the same weights as an uninterrupted one). Ctrl-C finishes the
/// current batch, writes `checkpoints/interrupted.safetensors` (epochs finished so far; the
/// partial epoch is redone on resume) and returns. Every file is written atomically, and the
/// folder gets its `COMPLETE` marker last, only when every epoch is done:
/// an interrupted or killed run has none.
public struct TrainingRun {
    /// The composed `train` configuration.
    public let config: Config
    /// The splits; the training and validation splits are used.
    public let data: DataSplits

    /// A run of `config` on `data`; settings are read, and checked, when ``run(progressStyle:)`` starts.
    public init(config: Config, data: DataSplits) {
        self.config = config
        self.data = data
    }

    /// The outcome of a run.
    public struct Result: Sendable {
        /// The run folder.
        public var directory: URL
        /// The last checkpoint written.
        public var lastCheckpoint: URL
        /// `best.safetensors` and what made it best; nil when `trainer.keep_best` is 0 or no
        /// epoch with a checkpoint was validated.
        public var bestCheckpoint: BestCheckpoint?
        /// All epochs' metrics, including those of a resumed run's earlier epochs.
        public var metrics: MetricsLog
        /// Whether the run stopped early because of Ctrl-C.
        public var interrupted: Bool
    }

    /// The checkpoint a run ranked best.
    public struct BestCheckpoint: Sendable {
        /// `checkpoints/best.safetensors`.
        public var url: URL
        /// The epoch it was written after.
        public var epoch: Int
        /// The metric that ranked it, `trainer.best_metric` (a `metrics.csv` column).
        public var metric: String
        /// Whether a smaller value of ``metric`` is better (`val_loss`) or a larger one (Dice).
        public var lowerIsBetter: Bool
        /// The metric's value at that epoch.
        public var value: Double
    }

    /// Trains; `progressStyle` chooses how progress is shown.
    public func run(progressStyle: ProgressReporter.Style = .automatic) throws -> Result {
        let settings = try TrainingSettings(config: config)
        let classNames = data.classNames.dropFirst().map { $0 }
        let retention = try CheckpointRetention(config: config, classNames: classNames)
        var (trainer, metrics) = try startingPoint(settings, classNames: classNames)

        let directory = try RunDirectory(config: config, task: "train", timestamped: true)
        var checkpoints = CheckpointFolder(directory: directory.file("checkpoints"), retention: retention)
        var lastCheckpoint = checkpoints.last
        let trainLoader = BatchLoader(
            dataset: data.train, batchSize: settings.batchSize, shuffle: true,
            seed: settings.seed, augmentation: data.augmentation)
        let validationLoader = BatchLoader(dataset: data.validation, batchSize: settings.batchSize, shuffle: false)
        var interrupted = false
        func saveCheckpoint(to url: URL) throws {
            try Self.saveCheckpoint(&trainer, metrics: metrics, config: config, to: url)
        }

        while trainer.epoch < settings.maxEpochs {
            let epoch = trainer.epoch + 1
            let started = Date()
            let learningRate = Double(trainer.optimizer.learningRate)
            let progress = ProgressReporter(
                title: "epoch \(epoch)/\(settings.maxEpochs)",
                total: trainLoader.batchesPerEpoch, style: progressStyle)
            guard let trainLoss = try Self.trainEpoch(&trainer, on: trainLoader, epoch: epoch, progress: progress)
            else {
                interrupted = true
                progress.finish(message: "interrupted")
                lastCheckpoint = checkpoints.directory.appendingPathComponent("interrupted.safetensors")
                try saveCheckpoint(to: lastCheckpoint)
                break
            }
            trainer.finishEpoch()
            var validationLoss = Double.nan
            var dice = [Double](repeating: .nan, count: data.classNames.count)
            if epoch % settings.validateEvery == 0 || epoch == settings.maxEpochs {
                (validationLoss, dice) = try Self.validate(
                    &trainer, on: validationLoader, classCount: data.classNames.count)
            }
            progress.finish(
                message: String(
                    format: "loss %.4f  val loss %.4f  val dice %@", trainLoss, validationLoss,
                    dice.dropFirst().map { String(format: "%.3f", $0) }.joined(separator: " ")))
            let row = StudySummary.Epoch(
                epoch: epoch, trainLoss: trainLoss, validationLoss: validationLoss,
                validationDice: Array(dice.dropFirst()), learningRate: learningRate,
                seconds: Date().timeIntervalSince(started))
            metrics.epochs.append(row)
            try Self.writeMetrics(metrics, into: directory)
            let keepsEpochFile = epoch % settings.checkpointEvery == 0 || epoch == settings.maxEpochs
            lastCheckpoint = try checkpoints.save(
                epoch: epoch, value: retention.metric.value(at: row),
                keepsEpochFile: keepsEpochFile, write: saveCheckpoint)
        }
        if !interrupted { try directory.markComplete() }
        let best = checkpoints.bestEpoch.map { epoch in
            BestCheckpoint(
                url: checkpoints.best, epoch: epoch, metric: retention.metric.name,
                lowerIsBetter: retention.metric.lowerIsBetter, value: checkpoints.bestValue ?? .nan)
        }
        return Result(
            directory: directory.url, lastCheckpoint: lastCheckpoint, bestCheckpoint: best, metrics: metrics,
            interrupted: interrupted)
    }

    /// The trainer and metrics to start from: those of `ckpt_path` when it is set (weights,
    /// optimizer, epoch, schedule and the earlier epochs' metrics), else a new network drawn
    /// from `seed` with a fresh optimizer.
    func startingPoint(_ settings: TrainingSettings, classNames: [String]) throws -> (Trainer, MetricsLog) {
        let metrics = MetricsLog(classNames: classNames)
        guard let resume = try config.value(\.checkpoint) else {
            var generator = SeededGenerator(seed: settings.seed)
            let model = UNet(settings.model.architecture, using: &generator)
            let trainer = Trainer(
                model: model, weightDecay: settings.optimizer.weightDecay, loss: settings.model.loss,
                schedule: settings.optimizer.schedule)
            return (trainer, metrics)
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: resume)) } catch {
            throw ExperimentError("cannot resume from \(resume): \(error)", kind: .unreadableFile, underlying: error)
        }
        let trainer = try ExperimentError.wrapping {
            try Trainer(
                checkpoint: file, path: resume, loss: settings.model.loss,
                firstCycleLength: settings.optimizer.schedule.firstCycleLength,
                cycleGrowth: settings.optimizer.schedule.cycleGrowth)
        }
        guard trainer.model.architecture == settings.model.architecture else {
            throw ExperimentError(
                "\(resume) holds a \(trainer.model.architecture), but the configuration asks for a "
                    + "\(settings.model.architecture)", kind: .invalidModel)
        }
        guard let text = file.metadata["metrics_csv"], let previous = try? MetricsLog(csv: text) else {
            return (trainer, metrics)
        }
        return (trainer, previous)
    }

    /// One epoch of training steps: the mean loss (weighted by batch size), or nil when Ctrl-C
    /// stopped the epoch after a batch (the trainer then holds that batch's step).
    static func trainEpoch(
        _ trainer: inout Trainer, on loader: BatchLoader<COCODataset>, epoch: Int,
        progress: ProgressReporter
    ) throws -> Double? {
        var batches = loader.epoch(epoch)
        var lossSum = 0.0
        var seen = 0
        while let batch = try next(&batches) {
            let loss = try ExperimentError.wrapping {
                try trainer.trainStep(images: batch.images, targets: batch.targets.map { Float($0) })
            }
            lossSum += Double(loss) * Double(batch.count)
            seen += batch.count
            progress.advance(message: String(format: "loss %.4f", lossSum / Double(max(seen, 1))))
            if Interruption.isRequested { return nil }
        }
        return lossSum / Double(max(seen, 1))
    }

    /// Writes the trainer's checkpoint with the configuration and the metrics so far.
    static func saveCheckpoint(_ trainer: inout Trainer, metrics: MetricsLog, config: Config, to url: URL) throws {
        var file = trainer.checkpoint()
        file.metadata["config"] = config.yaml
        file.metadata["metrics_csv"] = metrics.csv
        file.metadata["kandinsky.kind"] = "training-checkpoint"
        do { try file.write(to: url) } catch {
            throw ExperimentError.cannotWrite("checkpoint \(url.path)", error)
        }
    }

    /// `metrics.csv`, `val_loss.svg` and `val_dice.svg` of the epochs so far.
    static func writeMetrics(_ metrics: MetricsLog, into directory: RunDirectory) throws {
        try directory.write(Data(metrics.csv.utf8), to: "metrics.csv")
        try directory.write(Data(metrics.lossChart.svg.utf8), to: "val_loss.svg")
        try directory.write(Data(metrics.diceChart.svg.utf8), to: "val_dice.svg")
    }

    /// Mean loss (weighted by batch size) and NaN-mean class-wise Dice over a dataset.
    static func validate(_ trainer: inout Trainer, on loader: BatchLoader<COCODataset>, classCount: Int) throws -> (
        Double, [Double]
    ) {
        var batches = loader.epoch(0)
        var lossSum = 0.0
        var count = 0
        var diceSums = [Double](repeating: 0, count: classCount)
        var diceCounts = [Int](repeating: 0, count: classCount)
        while let batch = try next(&batches) {
            let (loss, dice) = try ExperimentError.wrapping {
                try trainer.evaluationStep(images: batch.images, targets: batch.targets.map { Float($0) })
            }
            lossSum += Double(loss) * Double(batch.count)
            count += batch.count
            for c in 0..<min(dice.count, classCount) where !dice[c].isNaN {
                diceSums[c] += Double(dice[c]) * Double(batch.count)
                diceCounts[c] += batch.count
            }
        }
        return (
            count == 0 ? .nan : lossSum / Double(count),
            zip(diceSums, diceCounts).map { $1 == 0 ? .nan : $0 / Double($1) }
        )
    }

    /// The next batch of an epoch, with data errors as one-line experiment errors.
    static func next(_ batches: inout BatchLoader<COCODataset>.Epoch) throws -> SegmentationBatch? {
        try ExperimentError.wrapping { try batches.next() }
    }
}

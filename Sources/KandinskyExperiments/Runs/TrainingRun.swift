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
/// ``CheckpointFolder`` and ``CheckpointRetention``).
///
/// `ckpt_path=…` resumes: the weights, optimizer, epoch and schedule continue exactly (with
/// dropout 0, a resumed run gives the same weights as an uninterrupted one). Ctrl-C finishes the
/// current batch, writes `checkpoints/interrupted.safetensors` (epochs finished so far; the
/// partial epoch is redone on resume) and returns. Every file is written atomically, and the
/// folder gets its `COMPLETE` marker (see ``RunDirectory``) last, only when every epoch is done:
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
        let seed = try config.value(\.seed)
        let maxEpochs = try config.value(\.trainer.maxEpochs)
        let validateEvery = try config.value(\.trainer.validateEvery)
        let checkpointEvery = try config.value(\.trainer.checkpointEvery)
        let batchSize = try config.value(\.data.batchSize)
        let settings = try ModelSettings(config: config)
        let optimizer = try OptimizerSettings(config: config)
        let architecture = settings.architecture
        let retention = try CheckpointRetention(config: config, classNames: data.classNames.dropFirst().map { $0 })

        var trainer: Trainer
        var metrics = MetricsLog(classNames: data.classNames.dropFirst().map { $0 })
        if let resume = try config.value(\.checkpoint) {
            let url = URL(fileURLWithPath: resume)
            let file: SafetensorsFile
            do { file = try SafetensorsFile.read(contentsOf: url) } catch {
                throw ExperimentError("cannot resume from \(resume): \(error)")
            }
            do {
                trainer = try Trainer(checkpoint: file, path: resume, loss: settings.loss, firstCycleLength: optimizer.schedule.firstCycleLength,
                                      cycleGrowth: optimizer.schedule.cycleGrowth)
            } catch {
                throw ExperimentError(error.description)
            }
            guard trainer.model.architecture == architecture else {
                throw ExperimentError("\(resume) holds a \(trainer.model.architecture), but the configuration asks for a \(architecture)")
            }
            if let text = file.metadata["metrics_csv"], let previous = try? MetricsLog(csv: text) { metrics = previous }
        } else {
            var generator = SeededGenerator(seed: seed)
            let model = UNet(architecture, using: &generator)
            trainer = Trainer(model: model, weightDecay: optimizer.weightDecay, loss: settings.loss, schedule: optimizer.schedule)
        }

        let directory = try RunDirectory(config: config, task: "train", timestamped: true)
        var checkpoints = CheckpointFolder(directory: directory.file("checkpoints"), retention: retention)
        var lastCheckpoint = checkpoints.last
        let trainLoader = BatchLoader(dataset: data.train, batchSize: batchSize, shuffle: true, seed: seed,
                                      augmentation: data.augmentation)
        let validationLoader = BatchLoader(dataset: data.validation, batchSize: batchSize, shuffle: false)
        var interrupted = false

        func saveCheckpoint(to url: URL) throws {
            var file = trainer.checkpoint()
            file.metadata["config"] = config.yaml
            file.metadata["metrics_csv"] = metrics.csv
            file.metadata["kandinsky.kind"] = "training-checkpoint"
            do { try file.write(to: url) } catch {
                throw ExperimentError("cannot write checkpoint \(url.path): \(error.problem)")
            }
        }

        while trainer.epoch < maxEpochs {
            let epoch = trainer.epoch + 1
            let started = Date()
            let learningRate = Double(trainer.optimizer.learningRate)
            var batches = trainLoader.epoch(epoch)
            let progress = ProgressReporter(title: "epoch \(epoch)/\(maxEpochs)", total: trainLoader.batchesPerEpoch, style: progressStyle)
            var lossSum = 0.0
            var seen = 0
            while let batch = try Self.next(&batches) {
                let loss: Float
                do { loss = try trainer.trainStep(images: batch.images, targets: batch.targets.map { Float($0) }) } catch {
                    throw ExperimentError(error.description)
                }
                lossSum += Double(loss) * Double(batch.count)
                seen += batch.count
                progress.advance(message: String(format: "loss %.4f", lossSum / Double(max(seen, 1))))
                if Interruption.isRequested { interrupted = true; break }
            }
            if interrupted {
                progress.finish(message: "interrupted")
                lastCheckpoint = checkpoints.directory.appendingPathComponent("interrupted.safetensors")
                try saveCheckpoint(to: lastCheckpoint)
                break
            }
            trainer.finishEpoch()
            var validationLoss = Double.nan
            var dice = [Double](repeating: .nan, count: data.classNames.count)
            if epoch % validateEvery == 0 || epoch == maxEpochs {
                (validationLoss, dice) = try Self.validate(&trainer, on: validationLoader, classCount: data.classNames.count)
            }
            let trainLoss = lossSum / Double(max(seen, 1))
            progress.finish(message: String(format: "loss %.4f  val loss %.4f  val dice %@", trainLoss, validationLoss,
                                            dice.dropFirst().map { String(format: "%.3f", $0) }.joined(separator: " ")))
            let row = StudySummary.Epoch(epoch: epoch, trainLoss: trainLoss, validationLoss: validationLoss,
                                         validationDice: Array(dice.dropFirst()), learningRate: learningRate,
                                         seconds: Date().timeIntervalSince(started))
            metrics.epochs.append(row)
            try directory.write(Data(metrics.csv.utf8), to: "metrics.csv")
            try directory.write(Data(metrics.lossChart.svg.utf8), to: "val_loss.svg")
            try directory.write(Data(metrics.diceChart.svg.utf8), to: "val_dice.svg")
            lastCheckpoint = try checkpoints.save(epoch: epoch, value: retention.metric.value(at: row),
                                                  keepsEpochFile: epoch % checkpointEvery == 0 || epoch == maxEpochs, write: saveCheckpoint)
        }
        if !interrupted { try directory.markComplete() }
        let best = checkpoints.bestEpoch.map { epoch in
            BestCheckpoint(url: checkpoints.best, epoch: epoch, metric: retention.metric.name, lowerIsBetter: retention.metric.lowerIsBetter,
                           value: checkpoints.bestValue ?? .nan)
        }
        return Result(directory: directory.url, lastCheckpoint: lastCheckpoint, bestCheckpoint: best, metrics: metrics, interrupted: interrupted)
    }

    /// Mean loss (weighted by batch size) and NaN-mean class-wise Dice over a dataset.
    static func validate(_ trainer: inout Trainer, on loader: BatchLoader<COCODataset>, classCount: Int) throws -> (Double, [Double]) {
        var batches = loader.epoch(0)
        var lossSum = 0.0, count = 0
        var diceSums = [Double](repeating: 0, count: classCount)
        var diceCounts = [Int](repeating: 0, count: classCount)
        while let batch = try next(&batches) {
            let (loss, dice): (Float, Tensor)
            do { (loss, dice) = try trainer.evaluationStep(images: batch.images, targets: batch.targets.map { Float($0) }) } catch {
                throw ExperimentError(error.description)
            }
            lossSum += Double(loss) * Double(batch.count)
            count += batch.count
            for c in 0..<min(dice.count, classCount) where !dice[c].isNaN {
                diceSums[c] += Double(dice[c]) * Double(batch.count)
                diceCounts[c] += batch.count
            }
        }
        return (count == 0 ? .nan : lossSum / Double(count),
                zip(diceSums, diceCounts).map { $1 == 0 ? .nan : $0 / Double($1) })
    }

    /// The next batch of an epoch, with data errors as one-line experiment errors.
    static func next(_ batches: inout BatchLoader<COCODataset>.Epoch) throws -> SegmentationBatch? {
        do { return try batches.next() } catch { throw ExperimentError(error.description) }
    }
}

/// The network and loss settings of a configuration (`model.net`, `model.loss`).
public struct ModelSettings: Sendable {
    /// The network's hyperparameters (`model.net`).
    public var architecture: UNet.Architecture
    /// The top-k loss (`model.loss`).
    public var loss: TopKBinaryCrossEntropy

    /// Reads the settings; every value is checked against the configuration schema (`kandinsky
    /// help-config`) first, so the network and loss are built only from values they accept.
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    public init(config: Config) throws {
        try ConfigSchema.checkConditions(config)
        architecture = UNet.Architecture(inputChannels: try config.value(\.model.inputChannels),
                                         outputChannels: try config.value(\.model.outputChannels),
                                         channels: try config.value(\.model.channels),
                                         depth: try config.value(\.model.depth),
                                         dropout: Float(try config.value(\.model.dropout)))
        loss = TopKBinaryCrossEntropy(keptFraction: try config.value(\.model.keptFraction),
                                      classWeights: try config.value(\.model.classWeights).map { $0.map(Float.init) })
    }
}

/// The optimizer and schedule settings of a configuration (`model.optimizer`, `model.scheduler`).
struct OptimizerSettings: Sendable {
    /// Adam's weight decay (`model.optimizer.weight_decay`).
    var weightDecay: Float
    /// The learning-rate schedule (`model.optimizer.lr`, `model.scheduler`).
    var schedule: CosineAnnealingWarmRestarts

    /// Reads the settings, checked against ``ConfigSchema``.
    init(config: Config) throws(ConfigError) {
        weightDecay = Float(try config.value(\.model.weightDecay))
        schedule = CosineAnnealingWarmRestarts(baseLearningRate: try config.value(\.model.learningRate),
                                               firstCycleLength: try config.value(\.model.firstCycle),
                                               cycleGrowth: try config.value(\.model.cycleGrowth),
                                               minimumLearningRate: try config.value(\.model.minimumLearningRate))
    }
}

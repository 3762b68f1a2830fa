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
///   Adam's moments, the epoch, the learning rate and the configuration (metadata `config`).
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
        /// All epochs' metrics, including those of a resumed run's earlier epochs.
        public var metrics: MetricsLog
        /// Whether the run stopped early because of Ctrl-C.
        public var interrupted: Bool
    }

    /// Trains; `progressStyle` chooses how progress is shown.
    public func run(progressStyle: ProgressReporter.Style = .automatic) throws -> Result {
        let seed = UInt64(try config.int("seed"))
        let maxEpochs = try config.int("trainer.max_epochs")
        let validateEvery = max(1, try config.int("trainer.check_val_every_n_epoch"))
        let checkpointEvery = max(1, try config.int("trainer.checkpoint_every_n_epochs"))
        let batchSize = try config.int("data.batch_size")
        let architecture = try ModelSettings(config: config).architecture

        var trainer: Trainer
        var metrics = MetricsLog(classNames: data.classNames.dropFirst().map { $0 })
        if let resume = try config.optionalString("ckpt_path") {
            let url = URL(fileURLWithPath: resume)
            let file: SafetensorsFile
            do { file = try SafetensorsFile.read(contentsOf: url) } catch {
                throw ExperimentError("cannot resume from \(resume): \(error)")
            }
            let loss = try ModelSettings(config: config).loss
            let firstCycle = try config.int("model.scheduler.T_0"), growth = try config.int("model.scheduler.T_mult")
            do {
                trainer = try Trainer(checkpoint: file, path: resume, loss: loss, firstCycleLength: firstCycle, cycleGrowth: growth)
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
            trainer = Trainer(model: model, weightDecay: Float(try config.double("model.optimizer.weight_decay")),
                              loss: try ModelSettings(config: config).loss,
                              schedule: CosineAnnealingWarmRestarts(baseLearningRate: try config.double("model.optimizer.lr"),
                                                                    firstCycleLength: try config.int("model.scheduler.T_0"),
                                                                    cycleGrowth: try config.int("model.scheduler.T_mult"),
                                                                    minimumLearningRate: try config.double("model.scheduler.eta_min")))
        }

        let directory = try RunDirectory(config: config, task: "train", timestamped: true)
        var lastCheckpoint = directory.file("checkpoints/last.safetensors")
        let trainLoader = BatchLoader(dataset: data.train, batchSize: batchSize, shuffle: true, seed: seed,
                                      augmentation: data.augmentation)
        let validationLoader = BatchLoader(dataset: data.validation, batchSize: batchSize, shuffle: false)
        var interrupted = false

        func saveCheckpoint(named name: String) throws -> URL {
            var file = trainer.checkpoint()
            file.metadata["config"] = config.yaml
            file.metadata["metrics_csv"] = metrics.csv
            file.metadata["kandinsky.kind"] = "training-checkpoint"
            let url = directory.file("checkpoints/\(name)")
            do { try file.write(to: url) } catch {
                throw ExperimentError("cannot write checkpoint \(url.path): \(error.problem)")
            }
            return url
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
                lastCheckpoint = try saveCheckpoint(named: "interrupted.safetensors")
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
            metrics.epochs.append(.init(epoch: epoch, trainLoss: trainLoss, validationLoss: validationLoss,
                                        validationDice: Array(dice.dropFirst()), learningRate: learningRate,
                                        seconds: Date().timeIntervalSince(started)))
            try directory.write(Data(metrics.csv.utf8), to: "metrics.csv")
            try directory.write(Data(metrics.lossChart.svg.utf8), to: "val_loss.svg")
            try directory.write(Data(metrics.diceChart.svg.utf8), to: "val_dice.svg")
            if epoch % checkpointEvery == 0 || epoch == maxEpochs {
                _ = try saveCheckpoint(named: String(format: "epoch_%04d.safetensors", epoch))
            }
            lastCheckpoint = try saveCheckpoint(named: "last.safetensors")
        }
        if !interrupted { try directory.markComplete() }
        return Result(directory: directory.url, lastCheckpoint: lastCheckpoint, metrics: metrics, interrupted: interrupted)
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

    /// Reads the settings.
    ///
    /// - Throws: ``ConfigError`` for a missing key or a wrong type.
    public init(config: Config) throws {
        architecture = UNet.Architecture(inputChannels: try config.int("model.net.in_channels"),
                                         outputChannels: try config.int("model.net.out_channels"),
                                         channels: try config.int("model.net.channels"),
                                         depth: try config.int("model.net.depth"),
                                         dropout: Float(try config.double("model.net.dropout")))
        let weights = config.isNull("model.loss.class_weights") ? nil : try config.doubles("model.loss.class_weights").map(Float.init)
        loss = TopKBinaryCrossEntropy(keptFraction: try config.double("model.loss.k_frac"), classWeights: weights)
    }
}

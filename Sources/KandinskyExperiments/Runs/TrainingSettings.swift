import KandinskyModels

/// The settings of a training run: the `trainer:` section, the data's batch size, the seed and
/// the network, loss and optimizer of `model:`.
package struct TrainingSettings: Sendable {
    /// The seed of the initial weights and of the batches' shuffling and augmentation (`seed`).
    package var seed: UInt64
    /// The epochs to train in all, those of a resumed run included (`trainer.max_epochs`).
    package var maxEpochs: Int
    /// Validation every this many epochs, and after the last (`trainer.check_val_every_n_epoch`).
    package var validateEvery: Int
    /// An epoch file every this many epochs, and after the last (`trainer.checkpoint_every_n_epochs`).
    package var checkpointEvery: Int
    /// Images per batch (`data.batch_size`).
    package var batchSize: Int
    /// The network and loss (`model.net`, `model.loss`).
    package var model: ModelSettings
    /// Adam's weight decay and the learning-rate schedule (`model.optimizer`, `model.scheduler`).
    var optimizer: OptimizerSettings

    /// Reads the settings, every value checked against the configuration schema (`kandinsky help-config`).
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    package init(config: Config) throws {
        seed = try config.value(\.seed)
        maxEpochs = try config.value(\.trainer.maxEpochs)
        validateEvery = try config.value(\.trainer.validateEvery)
        checkpointEvery = try config.value(\.trainer.checkpointEvery)
        batchSize = try config.value(\.data.batchSize)
        model = try ModelSettings(config: config)
        optimizer = try OptimizerSettings(config: config)
    }
}

/// The network and loss settings of a configuration (`model.net`, `model.loss`).
package struct ModelSettings: Sendable {
    /// The network's hyperparameters (`model.net`).
    package var architecture: UNet.Architecture
    /// The top-k loss (`model.loss`).
    package var loss: TopKBinaryCrossEntropy

    /// Reads the settings; every value is checked against the configuration schema (`kandinsky
    /// help-config`) first, so the network and loss are built only from values they accept.
    ///
    /// - Throws: ``ConfigError`` for a missing key, a wrong type or a value out of range.
    package init(config: Config) throws {
        try ConfigSchema.checkConditions(config)
        architecture = UNet.Architecture(
            inputChannels: try config.value(\.model.inputChannels),
            outputChannels: try config.value(\.model.outputChannels),
            channels: try config.value(\.model.channels),
            depth: try config.value(\.model.depth),
            dropout: Float(try config.value(\.model.dropout)))
        loss = TopKBinaryCrossEntropy(
            keptFraction: try config.value(\.model.keptFraction),
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
        schedule = CosineAnnealingWarmRestarts(
            baseLearningRate: try config.value(\.model.learningRate),
            firstCycleLength: try config.value(\.model.firstCycle),
            cycleGrowth: try config.value(\.model.cycleGrowth),
            minimumLearningRate: try config.value(\.model.minimumLearningRate))
    }
}

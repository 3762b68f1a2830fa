import Foundation
import KandinskyCore

/// Trains a ``UNet`` the way the Kandinsky paper's code does: top-k cross-entropy, Adam with L2
/// weight decay, and a cosine learning-rate schedule with warm restarts stepped once per epoch.
///
/// A training run calls ``trainStep(images:targets:)`` for each batch of an epoch, then
/// ``finishEpoch()``; ``evaluationStep(images:targets:)`` scores held-out batches.
/// ``saveCheckpoint(to:)`` and ``init(contentsOf:loss:firstCycleLength:cycleGrowth:)`` save and
/// resume a run: weights, optimizer moments and step count, epoch and learning rate. Without
/// dropout the resumed run is bit-identical to an uninterrupted one; with dropout its channel
/// masks come from fresh generators.
public struct Trainer {
    /// The network being trained.
    public var model: UNet
    /// Adam with the run's weight decay; its learning rate follows `schedule`.
    public var optimizer: Adam
    /// The top-k binary cross-entropy on the logits.
    public var loss: TopKBinaryCrossEntropy
    /// The learning rate of each epoch.
    public var schedule: CosineAnnealingWarmRestarts
    /// Epochs finished so far; the current learning rate is `schedule.learningRate(atEpoch: epoch)`.
    public private(set) var epoch = 0
    private var logitGradient = Tensor.empty

    /// A trainer whose optimizer starts at the schedule's base learning rate.
    public init(
        model: UNet, weightDecay: Float = 0, loss: TopKBinaryCrossEntropy = TopKBinaryCrossEntropy(),
        schedule: CosineAnnealingWarmRestarts
    ) {
        self.model = model
        self.loss = loss
        self.schedule = schedule
        optimizer = Adam(learningRate: Float(schedule.learningRate(atEpoch: 0)), weightDecay: weightDecay)
    }

    /// One training step on a batch: forward in training mode, top-k loss, backward, Adam update.
    /// Returns the batch's loss before the update.
    ///
    /// Shapes: images [N, inChannels, H, W]; targets [N, outChannels, H, W] with values in {0, 1}.
    /// - Throws: ``ModelError`` when the shapes do not fit the network.
    public mutating func trainStep(images: Tensor, targets: Tensor) throws(ModelError) -> Float {
        try checkBatch(images: images, targets: targets)
        model.clearGradients()
        let logits = model.forward(images, training: true)
        let value = ModelProfiler.measure(.loss) { loss.lossAndGradient(logits, targets, gradient: &logitGradient) }
        model.accumulateParameterGradients(logitGradient)
        ModelProfiler.measure(.optimizer) { optimizer.update(&model) }
        return value
    }

    /// The loss and the class-wise Dice ([outChannels], NaN for classes absent from every target)
    /// of the network in inference mode on a batch.
    public mutating func evaluationStep(images: Tensor, targets: Tensor) throws(ModelError) -> (
        loss: Float, dice: Tensor
    ) {
        try checkBatch(images: images, targets: targets)
        let logits = model.forward(images, training: false)
        let value = loss(logits, targets)
        return (value, Dice.classwise(probabilities: logits.sigmoid(), targets: targets))
    }

    /// Ends an epoch: advances the schedule and sets the optimizer's learning rate.
    public mutating func finishEpoch() {
        epoch += 1
        optimizer.learningRate = Float(schedule.learningRate(atEpoch: epoch))
    }

    private func checkBatch(images: Tensor, targets: Tensor) throws(ModelError) {
        try model.validate(inputShape: images.shape)
        let expected = [images.shape[0], model.architecture.outputChannels, images.shape[2], images.shape[3]]
        guard targets.shape == expected else {
            throw ModelError(
                "targets must have shape \(expected) for images of shape \(images.shape), got \(targets.shape)",
                kind: .shapeMismatch)
        }
    }
}

extension Trainer {
    /// The weights, the optimizer state and the epoch in one safetensors file's contents. The
    /// weights keep their PyTorch names, so the file also loads as a plain model.
    package mutating func checkpoint() -> SafetensorsFile {
        var file = model.safetensorsFile()
        let state = optimizer.state()
        file.tensors += state.tensors.map { ($0.name, AnyShapedArray.float32($0.value)) }
        file.metadata.merge(state.metadata) { _, new in new }
        file.metadata["trainer.epoch"] = "\(epoch)"
        file.metadata["trainer.weight_decay"] = "\(optimizer.weightDecay)"
        file.metadata["trainer.base_learning_rate"] = "\(schedule.baseLearningRate)"
        return file
    }

    /// Resumes from ``checkpoint()``: same weights, moments, step count, epoch and learning rate.
    /// `loss` and the schedule's cycle lengths are not stored and are given again.
    package init(
        checkpoint file: SafetensorsFile, path: String = "checkpoint",
        loss: TopKBinaryCrossEntropy = TopKBinaryCrossEntropy(),
        firstCycleLength: Int = 15, cycleGrowth: Int = 1
    ) throws(ModelError) {
        guard let architecture = try UNet.Architecture(metadata: file.metadata, file: path) else {
            throw .invalidFile(path, "metadata", "a checkpoint records its architecture, this file does not")
        }
        func number(_ key: String) throws(ModelError) -> Double {
            guard let text = file.metadata[key], let value = Double(text), value >= 0 else {
                throw .invalidFile(
                    path, "metadata \(key)", "expected a non-negative number, found \(file.metadata[key] ?? "nothing")")
            }
            return value
        }
        var generator = SeededGenerator(seed: 0)
        var model = UNet(architecture, using: &generator)
        try model.load(file, path: path)
        self.init(
            model: model, weightDecay: Float(try number("trainer.weight_decay")), loss: loss,
            schedule: CosineAnnealingWarmRestarts(
                baseLearningRate: try number("trainer.base_learning_rate"),
                firstCycleLength: firstCycleLength, cycleGrowth: cycleGrowth))
        try optimizer.restore(file, path: path)
        epoch = Int(try number("trainer.epoch"))
        optimizer.learningRate = Float(schedule.learningRate(atEpoch: epoch))
    }

    /// Writes `checkpoint()` to a safetensors file, atomically.
    public mutating func saveCheckpoint(to url: URL) throws(ModelError) {
        do { try checkpoint().write(to: url) } catch { throw .file(error) }
    }

    /// Resumes from a file written by ``saveCheckpoint(to:)``.
    public init(
        contentsOf url: URL, loss: TopKBinaryCrossEntropy = TopKBinaryCrossEntropy(),
        firstCycleLength: Int = 15, cycleGrowth: Int = 1
    ) throws(ModelError) {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.read(contentsOf: url) } catch { throw .file(error) }
        try self.init(
            checkpoint: file, path: url.path, loss: loss, firstCycleLength: firstCycleLength, cycleGrowth: cycleGrowth)
    }
}

import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyModels

@Suite struct UNetTests {
    static func fixtureModel() -> UNet {
        var generator = SeededGenerator(seed: 1)
        return UNet(inputChannels: 3, outputChannels: 2, channels: 4, depth: 4, using: &generator)
    }

    @Test func parameterNamesAndShapesFollowPyTorch() {
        var model = Self.fixtureModel()
        let entries = model.stateDict()
        let shapes = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.value.shape) })
        #expect(entries.count == 2 * 2 * (4 + 1 + 4) + 6)
        #expect(shapes["down_sample_layers.0.layers.0.weight"] == [4, 3, 3, 3])
        #expect(shapes["down_sample_layers.3.layers.4.weight"] == [32, 32, 3, 3])
        #expect(shapes["conv.layers.4.bias"] == [32])
        #expect(shapes["up_sample_layers.0.layers.0.weight"] == [16, 64, 3, 3])
        #expect(shapes["up_sample_layers.3.layers.0.weight"] == [4, 8, 3, 3])
        #expect(shapes["conv2.0.weight"] == [2, 4, 1, 1])
        #expect(shapes["conv2.1.weight"] == [2, 2, 1, 1])
        #expect(shapes["conv2.2.bias"] == [2])
    }

    /// Names, order, dtypes and shapes are PyTorch's for every architecture of the fixture, the
    /// original's COCO network (channels 128, depth 4) among them.
    @Test func stateDictIsPyTorchsForEveryFixtureArchitecture() throws {
        let fixture = try UNetStateDictFixture.load()
        #expect(fixture.architectures.map(\.channels) == [4, 6, 128])
        for expected in fixture.architectures {
            var generator = SeededGenerator(seed: 4)
            var model = UNet(
                inputChannels: expected.inChannels, outputChannels: expected.outChannels, channels: expected.channels,
                depth: expected.depth, using: &generator)
            let entries = model.stateDict().map {
                UNetStateDictFixture.Entry(name: $0.name, dtype: "F32", shape: $0.value.shape)
            }
            #expect(entries == expected.stateDict, "channels \(expected.channels), depth \(expected.depth)")
            #expect(
                model.safetensorsFile(recordsArchitecture: false).stateDictEntries
                    == expected.stateDict.sorted { $0.name < $1.name })
        }
    }

    /// Without its architecture, a network's file is the one `safetensors.torch.save_file(
    /// model.state_dict(), path)` wrote for the same weights, to the byte.
    @Test func weightsWithoutTheArchitectureAreWhatPyTorchWrites() throws {
        let url = fixtures.url("unet_c4_weights.safetensors")
        var model = try UNet(
            contentsOf: url, architecture: .init(inputChannels: 3, outputChannels: 2, channels: 4, depth: 4))
        let file = model.safetensorsFile(recordsArchitecture: false)
        #expect(file.metadata.isEmpty)
        try withScratchDirectory("plain") { directory in
            let written = directory.appendingPathComponent("plain.safetensors")
            try file.write(to: written)
            #expect(try Data(contentsOf: written) == Data(contentsOf: url))
        }
    }

    @Test func rejectsSizesNotDivisibleByTwoToTheDepth() {
        let model = Self.fixtureModel()
        #expect(throws: ModelError.self) { try model.validate(inputShape: [1, 3, 40, 48]) }
        #expect(throws: ModelError.self) { try model.validate(inputShape: [1, 1, 32, 48]) }
        #expect(throws: ModelError.self) { try model.validate(inputShape: [3, 32, 48]) }
        #expect(throws: Never.self) { try model.validate(inputShape: [1, 3, 32, 48]) }
        let error = #expect(throws: ModelError.self) { try model.validate(inputShape: [1, 3, 40, 50]) }
        #expect(error?.description.contains("divisible by 2^depth = 16") == true, "\(String(describing: error))")
        #expect(error?.description.contains("[1, 3, 40, 50]") == true, "\(String(describing: error))")
    }

    @Test func loadingListsEveryMismatch() {
        var model = Self.fixtureModel()
        var file = model.safetensorsFile()
        file["conv2.2.bias"] = nil
        file["conv2.3.weight"] = .float32(Tensor(shape: [1], repeating: 0))
        file["conv.layers.0.weight"] = .float32(Tensor(shape: [32, 32, 1, 1], repeating: 0))
        file["optimizer.conv.layers.0.weight.exp_avg"] = .float32(Tensor(shape: [1], repeating: 0))
        let before = model.stateDict().map(\.value)
        do {
            try model.load(file, path: "model.safetensors")
            Issue.record("a mismatched file loaded")
        } catch {
            #expect(
                error.description
                    == "model.safetensors: the weights do not fit the network: missing tensors conv2.2.bias; unknown tensors conv2.3.weight; wrongly shaped tensors conv.layers.0.weight (expected F32 [32, 32, 3, 3], found F32 [32, 32, 1, 1])"
            )
        }
        #expect(model.stateDict().map(\.value) == before)
    }

    @Test func weightsRoundTripWithTheirArchitecture() throws {
        var generator = SeededGenerator(seed: 2)
        var model = UNet(inputChannels: 1, outputChannels: 3, channels: 6, depth: 2, dropout: 0.25, using: &generator)
        let file = model.safetensorsFile()
        let architecture = try #require(try UNet.Architecture(metadata: file.metadata, file: "f"))
        #expect(architecture == model.architecture)
        var copy = UNet(architecture, using: &generator)
        try copy.load(file)
        let images = Tensor.uniform([2, 1, 8, 12], using: &generator)
        #expect(copy.forward(images, training: false) == model.forward(images, training: false))
        #expect(try UNet.Architecture(metadata: [:], file: "f") == nil)
        let bad = #expect(throws: ModelError.self) { try UNet.Architecture(metadata: ["channels": "x"], file: "f") }
        #expect(
            bad?.kind == .invalidFile
                && bad?.description == "f: metadata channels: expected a positive integer, found \"x\"")
    }

    @Test func probabilitiesAreTheSigmoidOfTheLogitsInAnyBatching() throws {
        var generator = SeededGenerator(seed: 3)
        var model = UNet(inputChannels: 3, outputChannels: 2, channels: 4, depth: 2, using: &generator)
        let images = Tensor.uniform([5, 3, 8, 8], using: &generator)
        let whole = try model.probabilities(images, batchSize: 8)
        // Other batch sizes tile the convolutions differently: equal up to rounding.
        expectClose(try model.probabilities(images, batchSize: 2), whole, tolerance: 1e-6)
        expectClose(whole, model.forward(images, training: false).sigmoid(), tolerance: 1e-7)
    }

    @Test func loadsAPyTorchFileGivenItsArchitecture() throws {
        let url = fixtures.url("unet_c4_weights.safetensors")
        do {
            _ = try UNet(contentsOf: url)
            Issue.record("a file without metadata loaded without an architecture")
        } catch {
            #expect(error.description.contains("records no architecture"))
        }
        var model = try UNet(
            contentsOf: url, architecture: .init(inputChannels: 3, outputChannels: 2, channels: 4, depth: 4))
        let expected = try tensor(readFixture("unet_c4_weights.safetensors"), "conv2.2.bias")
        #expect(model.stateDict().first { $0.name == "conv2.2.bias" }?.value == expected)
    }

    @Test func parameterGradientsWithoutTheInputGradientAreTheSame() {
        var generator = SeededGenerator(seed: 31)
        var full = Self.fixtureModel()
        var partial = full
        let images = Tensor.uniform([2, 3, 32, 48], using: &generator)
        let logitGradient = Tensor.normal([2, 2, 32, 48], using: &generator)
        _ = full.forward(images, training: true)
        let inputGradient = full.backward(logitGradient)
        #expect(inputGradient.shape == images.shape)
        _ = partial.forward(images, training: true)
        partial.accumulateParameterGradients(logitGradient)
        var expected: [String: Tensor] = [:]
        full.visitParameters { name, parameter in expected[name] = parameter.gradient }
        var compared = 0
        partial.visitParameters { name, parameter in
            #expect(parameter.gradient.scalars == expected[name]?.scalars, "\(name)")
            #expect(parameter.gradient.scalars.contains { $0 != 0 }, "\(name)")
            compared += 1
        }
        #expect(compared == expected.count)
    }

    // MARK: PyTorch parity (fixtures from scripts/fixtures/make_unet_fixtures.py)

    @Test func matchesPyTorchForwardLossGradientsAndAdamStep() throws {
        let weights = try readFixture("unet_c4_weights.safetensors")
        let step = try readFixture("unet_c4_step.safetensors")
        #expect(weights.metadata["in_channels"] == nil)  // as PyTorch writes it: no architecture recorded
        var model = Self.fixtureModel()
        try model.load(weights, path: "unet_c4_weights.safetensors")
        let images = try tensor(step, "input")
        let targets = try tensor(step, "targets")

        let logits = model.forward(images, training: true)
        expectClose(logits, try tensor(step, "logits"), tolerance: 1e-4, "logits")

        var loss = TopKBinaryCrossEntropy(keptFraction: 0.5)
        var gradient = Tensor(shape: [0], repeating: 0)
        let value = loss.lossAndGradient(logits, targets, gradient: &gradient)
        expectClose(Tensor(shape: [1], scalars: [value]), try tensor(step, "loss"), tolerance: 1e-5, "loss")
        let dice = Dice.classwise(probabilities: logits.sigmoid(), targets: targets)
        expectClose(dice, try tensor(step, "dice"), tolerance: 1e-5, "dice")

        _ = model.backward(gradient)
        var adam = Adam(learningRate: 1e-3, weightDecay: 1e-2)
        var gradients: [String: Tensor] = [:]
        model.visitParameters { name, parameter in gradients[name] = parameter.gradient }
        adam.update(&model)
        let updated = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.value) })
        let watched = [
            "down_sample_layers.0.layers.0.weight", "down_sample_layers.2.layers.4.bias",
            "conv.layers.0.weight", "up_sample_layers.3.layers.0.weight", "conv2.0.weight", "conv2.2.bias",
        ]
        for name in watched {
            expectClose(try #require(gradients[name]), try tensor(step, "grad." + name), tolerance: 1e-3, "∂/∂\(name)")
            // Adam's first step moves each weight by η·g/(|g| + ε) ≈ ±η, whose sign is ill-defined
            // where g is near 0; a tolerance of 0.5 % of η = 1e-3 still catches any wrong term.
            let expected = try tensor(step, "adam." + name)
            let scale = expected.scalars.map(abs).max()!
            expectClose(try #require(updated[name]), expected, tolerance: 5e-6 / Double(scale), "Adam-updated \(name)")
        }

        let schedule = CosineAnnealingWarmRestarts(baseLearningRate: 0.01)
        let rates = try #require(step["schedule.lr"])
        guard case .float64(let expected) = rates else {
            Issue.record("schedule.lr is not F64")
            return
        }
        for epoch in 0..<expected.count {
            #expect(abs(schedule.learningRate(atEpoch: epoch) - expected[epoch]) <= 1e-12 * 0.01, "epoch \(epoch)")
        }
    }

    @Test func matchesPyTorchThroughWinograd() throws {
        // Every 3 × 3 convolution asks for Winograd; the full-resolution ones (32 × 48 pixels,
        // 96 tiles) get it, forward and backward, the smaller ones fall back to shifted windows.
        let step = try readFixture("unet_c4_step.safetensors")
        var model = Self.fixtureModel()
        try model.load(readFixture("unet_c4_weights.safetensors"), path: "unet_c4_weights.safetensors")
        for index in model.downBlocks.indices {
            model.downBlocks[index].firstConvolution.trainingStrategy = .winograd
            model.downBlocks[index].secondConvolution.trainingStrategy = .winograd
            model.upBlocks[index].firstConvolution.trainingStrategy = .winograd
            model.upBlocks[index].secondConvolution.trainingStrategy = .winograd
        }
        let logits = model.forward(try tensor(step, "input"), training: true)
        expectClose(logits, try tensor(step, "logits"), tolerance: 1e-4, "logits")
        var loss = TopKBinaryCrossEntropy(keptFraction: 0.5)
        var gradient = Tensor(shape: [0], repeating: 0)
        _ = loss.lossAndGradient(logits, try tensor(step, "targets"), gradient: &gradient)
        _ = model.backward(gradient)
        var gradients: [String: Tensor] = [:]
        model.visitParameters { name, parameter in gradients[name] = parameter.gradient }
        for name in [
            "down_sample_layers.0.layers.0.weight", "up_sample_layers.3.layers.0.weight", "conv.layers.0.weight",
        ] {
            expectClose(try #require(gradients[name]), try tensor(step, "grad." + name), tolerance: 1e-3, "∂/∂\(name)")
        }
    }
}

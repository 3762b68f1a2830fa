import Foundation
import KandinskyData
import KandinskyTestSupport
import Testing

@testable import KandinskyExperiments

private let miniature: [String: String] = [
    "train.yaml": """
    # @package _global_
    defaults:
      - _self_
      - data: small
      - model: net
      - experiment: null
    task_name: "train"
    ckpt_path: null
    required_thing: ???
    """,
    "data/small.yaml": """
    root: ${oc.env:TEST_DATA_ROOT}
    split: "1000"
    batch_size: 32
    dims: [320, 240]
    """,
    "data/big.yaml": """
    root: /big
    batch_size: 64
    dims: [640, 480]
    """,
    "model/net.yaml": """
    defaults:
      - _self_
      - scheduler: cosine
    lr: 1e-4
    channels: 8
    """,
    "model/scheduler/cosine.yaml": "T_0: 15\n",
    "experiment/bigger.yaml": """
    # @package _global_
    defaults:
      - override /data: big.yaml
    model:
      channels: 128
    summary: "${data.root}/runs/${model.channels}"
    copy_of_dims: ${data.dims}
    """,
]

/// Runs `body` with a composer over a throwaway config directory holding the files of
/// `miniature` (path to text), so each test controls every file it composes; the directory is
/// removed afterwards.
private func withMiniatureComposer(_ body: (ConfigComposer) throws -> Void) throws {
    try withScratchDirectory("config") { root in
        for (path, text) in miniature {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try body(ConfigComposer(directory: root))
    }
}

@Suite struct ConfigTests {
    let environment = ["TEST_DATA_ROOT": "/data/coco"]

    @Test func composesDefaultsGroupsAndNestedGroups() throws {
        try withMiniatureComposer { composer in
            let config = try composer.compose(primary: "train", overrides: [], environment: environment)
            #expect(try config.string("task_name") == "train")
            #expect(try config.string("data.root") == "/data/coco")
            #expect(try config.string("data.split") == "1000")
            #expect(try config.int("data.batch_size") == 32)
            #expect(try config.ints("data.dims") == [320, 240])
            #expect(try config.double("model.lr") == 1e-4)
            #expect(try config.int("model.scheduler.T_0") == 15)
            #expect(config.isNull("ckpt_path"))
        }
    }

    @Test func experimentOverridesGroupsAndValuesAndInterpolates() throws {
        try withMiniatureComposer { composer in
            let config = try composer.compose(
                primary: "train", overrides: ["experiment=bigger"], environment: environment)
            #expect(try config.int("data.batch_size") == 64)
            #expect(try config.int("model.channels") == 128)
            #expect(try config.int("model.scheduler.T_0") == 15)
            #expect(try config.string("summary") == "/big/runs/128")
            #expect(try config.ints("copy_of_dims") == [640, 480])
        }
    }

    @Test func commandLineWinsOverExperimentAndDefaults() throws {
        try withMiniatureComposer { composer in
            let config = try composer.compose(
                primary: "train",
                overrides: [
                    "experiment=bigger", "data=small", "data.batch_size=8", "model.scheduler.T_0=3", "+extra.key=hello",
                ],
                environment: environment)
            #expect(try config.int("data.batch_size") == 8)
            #expect(try config.string("data.root") == "/data/coco")
            #expect(try config.int("model.scheduler.T_0") == 3)
            #expect(try config.string("extra.key") == "hello")
            #expect(try config.string("summary") == "/data/coco/runs/128")
        }
    }

    @Test func unknownKeySuggestsTheClosest() throws {
        try withMiniatureComposer { composer in
            #expect(throws: ConfigError.unknownKey("data.batch_sise", suggestion: "data.batch_size")) {
                try composer.compose(primary: "train", overrides: ["data.batch_sise=8"], environment: environment)
            }
        }
    }

    @Test func unsetEnvironmentVariableIsOneClearError() throws {
        try withMiniatureComposer { composer in
            let error = #expect(throws: ConfigError.self) {
                try composer.compose(primary: "train", overrides: [], environment: [:])
            }
            #expect(error?.description == "environment variable TEST_DATA_ROOT is not set (needed by 'data.root')")
        }
    }

    @Test func requiredValueMustBeSet() throws {
        try withMiniatureComposer { composer in
            let config = try composer.compose(primary: "train", overrides: [], environment: environment)
            #expect(throws: ConfigError.missingValue("required_thing")) { try config.requireComplete() }
            #expect(throws: ConfigError.missingValue("required_thing")) { try config.string("required_thing") }
            let complete = try composer.compose(
                primary: "train", overrides: ["required_thing=yes"], environment: environment)
            try complete.requireComplete()
            #expect(try complete.bool("required_thing"))
        }
    }

    @Test func missingGroupOptionAndMalformedOverride() throws {
        try withMiniatureComposer { composer in
            let missing = #expect(throws: ConfigError.self) {
                try composer.compose(primary: "train", overrides: ["experiment=nope"], environment: environment)
            }
            #expect(missing?.description.hasPrefix("no config 'nope' in group 'experiment'") == true)
            #expect(throws: ConfigError.badOverride("batch_size")) {
                try composer.compose(primary: "train", overrides: ["batch_size"], environment: environment)
            }
            let config = try composer.compose(primary: "train", overrides: [], environment: environment)
            let wrong = #expect(throws: ConfigError.self) { _ = try config.int("data.dims") }
            #expect(wrong?.code == .wrongType && wrong?.key == "data.dims")
            #expect(
                wrong?.description.hasPrefix("config key 'data.dims' must be an integer, found [320, 240] (from ")
                    == true)
            #expect(wrong?.description.hasSuffix("/data/small.yaml)") == true)
        }
    }

    @Test func savedYAMLComposesBackToTheSameTree() throws {
        try withMiniatureComposer { composer in
            let config = try composer.compose(
                primary: "train", overrides: ["experiment=bigger"], environment: environment)
            let reparsed = try ConfigNode.parse(yaml: config.yaml, file: "saved")
            #expect(reparsed == config.root)
        }
    }

    @Test(arguments: ["train", "calibrate", "eval"])
    func builtInExperimentsAllCompose(primary: String) throws {
        let composer = ConfigComposer.builtIn
        let directory = composer.directory.appendingPathComponent("experiment")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix(primary == "train" ? "train_" : primary == "calibrate" ? "cal_" : "eval_") }
        #expect(names.count == 2 * (primary == "train" ? 1 : 4))
        let env = ["DATA_TRAINVAL_ROOT": "/tv", "DATA_TEST_ROOT": "/test"]
        for name in names {
            let config = try composer.compose(
                primary: primary,
                overrides: ["experiment=\(name.replacingOccurrences(of: ".yaml", with: ""))", "ckpt_path=x"],
                environment: env)
            try config.requireComplete()
            #expect(try config.ints("data.dims").count == 2)
            #expect(try config.double("model.optimizer.lr") == (name.hasPrefix("train_synthetic") ? 1e-3 : 1e-4))
            #expect(try config.double("model.loss.k_frac") == 0.5)
            #expect(try config.int("model.scheduler.T_0") == 15)
            if primary == "calibrate" {
                let method = try config.string("calibration.method")
                #expect(name.hasSuffix("_\(method).yaml"))
                #expect(
                    try config.doubleMatrix("calibration.bounds") == [
                        [-20, 20], [-20, 20], [0, 150], [0, 150], [0, 300],
                    ])
                #expect(try config.ints("calibration.curve_points") == [60, 70, 80, 90])
                #expect(config.isNull("calibration.classes"))
                #expect(try config.string("calibration.quantile") == "conformal")
            }
        }
    }
}

@Suite struct BuiltInConfigTests {
    @Test func pipelineValuesOverrideTheGroupDefaults() throws {
        let config = try ConfigComposer.builtIn.compose(primary: "pipeline", overrides: [], environment: [:])
        #expect(try config.int("model.net.channels") == 8)
        #expect(try config.double("model.optimizer.lr") == 1e-3)
        #expect(try config.int("trainer.max_epochs") == 20)
        #expect(try config.string("calibration.method") == "pixel")
        #expect(try config.int("evaluation.bins") == 20)
        #expect(try config.ints("pipeline.calibration_sizes") == [10, 20, 50, 100, 200, 500, 1000])
        #expect(try config.string("data.trainval_root") == "./data/synthetic/trainval")
        #expect(config.isNull("experiment_name"))
        let coco = try ConfigComposer.builtIn.compose(
            primary: "pipeline", overrides: ["data=coco"],
            environment: ["DATA_TRAINVAL_ROOT": "/coco/trainval", "DATA_TEST_ROOT": "/coco/test"])
        #expect(try coco.string("data.trainval_root") == "/coco/trainval")
        #expect(try coco.ints("data.dims") == [320, 240])
    }

    @Test func theAnatomyDataComposesWithItsSceneSizeAndAugmentation() throws {
        let config = try ConfigComposer.builtIn.compose(
            primary: "pipeline", overrides: ["data=synthetic-anatomy"], environment: [:])
        #expect(try config.value(\.data.name) == "synthetic-anatomy")
        #expect(try config.value(\.data.root) == "./data/synthetic-anatomy")
        #expect(try config.value(\.data.generatorScene) == .anatomy)
        #expect(try config.value(\.data.categories) == ["organ"])
        #expect(try config.value(\.data.dims) == [128, 96])
        #expect(try [config.value(\.data.generatorWidth), config.value(\.data.generatorHeight)] == [128, 96])
        #expect(try config.value(\.data.generatorTrain) == 300 && config.value(\.data.trainvalSplit) == "300")
        #expect(
            try ExperimentData.augmentation(config: config)
                == .init(flipProbability: 0, maxRotationDegrees: 5, maxTranslation: 0.04, scaleRange: 0.9...1.1))
        let person = try ConfigComposer.builtIn.compose(primary: "pipeline", overrides: [], environment: [:])
        #expect(try person.value(\.data.generatorScene) == .person)
    }

    /// A data config written before `data.generator.scene` existed generates people, as it did.
    @Test func aGeneratorWithoutASceneIsThePersonScene() throws {
        try withCopyOfBuiltInConfigs { directory in
            let file = directory.appendingPathComponent("data/synthetic.yaml")
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.contains("  scene: person\n"))
            try text.replacingOccurrences(of: "  scene: person\n", with: "").write(
                to: file, atomically: true, encoding: .utf8)
            let config = try ConfigComposer(directory: directory).compose(
                primary: "train", overrides: [], environment: [:])
            #expect(config.node("data.generator.scene") == nil)
            #expect(try config.value(\.data.generatorScene, ifAbsent: .person) == .person)
        }
    }

    @Test func prepareGeneratesTheConfiguredScene() throws {
        try withScratchDirectory("anatomy") { root in
            let config = try ConfigComposer.builtIn.compose(
                primary: "train",
                overrides: [
                    "data=synthetic-anatomy", "paths.root_dir=\(root.path)", "data.generator.train=4",
                    "data.trainval_split=4",
                    "data.generator.val=2", "data.generator.cal=2", "data.generator.test=2",
                ], environment: [:])
            let missing = #expect(throws: ExperimentError.self) { try ExperimentData.splits(config: config) }
            #expect(
                missing?.description.contains(
                    "does not exist (run `kandinsky synth --scene anatomy` or `kandinsky pipeline` to generate it)")
                    == true
            )
            #expect(try ExperimentData.prepare(config: config, progressStyle: .silent))
            let splits = try ExperimentData.splits(config: config)
            #expect(splits.classNames == ["background", "organ"])
            let counts: [Int] = [
                splits.train.count, splits.validation.count, splits.calibration.count, splits.test.count,
            ]
            #expect(counts == [4, 2, 2, 2])
            #expect(
                splits.test.images.allSatisfy { $0.width == 128 && $0.height == 96 && $0.fileName.hasSuffix(".png") })
            #expect(
                FileManager.default.fileExists(
                    atPath: root.appendingPathComponent("data/synthetic-anatomy/test/labels.json").path))
        }
    }

    @Test func predictNeedsACheckpointAndAnImage() throws {
        let config = try ConfigComposer.builtIn.compose(
            primary: "predict", overrides: ["ckpt_path=m.safetensors"], environment: [:])
        #expect(throws: ConfigError.missingValue("image")) { try config.requireComplete() }
        #expect(try config.double("alpha") == 0.1)
    }

    @Test func experimentNameNamesTheRunFolder() throws {
        let config = try ConfigComposer.builtIn.compose(
            primary: "train", overrides: ["experiment=train_synthetic-person_t300"], environment: [:])
        #expect(try config.string("experiment_name") == "train_synthetic-person_t300")
    }
}

import Foundation
import KandinskyCalibration
import KandinskyTestSupport
import Testing

@testable import KandinskyExperiments

/// One bad configuration value and the error it must give.
struct BadValue: Sendable, CustomTestStringConvertible {
    var primary: String
    var overrides: [String]
    /// The key the error must name.
    var key: String
    var code: ConfigError.Code
    /// A piece of the message stating the allowed range.
    var expected: String

    var testDescription: String { "\(primary) \(overrides.joined(separator: " "))" }
}

/// Bad values of one key that must each give the same error: one ``BadValue`` per value.
struct BadValues {
    /// The overrides a primary configuration needs before its values are checked.
    static let required = [
        "calibrate": ["ckpt_path=x"], "eval": ["ckpt_path=x"], "predict": ["ckpt_path=x", "image=y"],
    ]

    /// For each value, the overrides `primary` requires, then `context` (overrides the value
    /// must be checked against), then `key=value`.
    let cases: [BadValue]

    init(
        _ primary: String, _ key: String, _ values: [String], after context: [String] = [],
        _ code: ConfigError.Code = .outOfRange, expected: String
    ) {
        cases = values.map {
            BadValue(
                primary: primary, overrides: Self.required[primary, default: []] + context + ["\(key)=\($0)"],
                key: key, code: code, expected: expected)
        }
    }
}

/// The cases of the robustness report, each of which used to trap, blow up memory or pass silently.
let badValues: [BadValue] = [
    BadValues("train", "data.batch_size", ["0", "-1"], expected: "an integer in 1...1024"),
    BadValues("calibrate", "calibration.curve_count", ["0", "1", "1e8"], expected: "an integer in 2...1000"),
    BadValues(
        "calibrate", "class_idx", ["7", "9223372036854775807"], .inconsistent, expected: "a class index in 0...1"),
    BadValues("calibrate", "class_idx", ["-1"], expected: "an integer ≥ 0"),
    BadValues(
        "calibrate", "calibration.classes", ["[1,2]"], .inconsistent, expected: "class 2 is not a class index in 0...1"),
    BadValues("calibrate", "calibration.classes", ["[1,1]"], .inconsistent, expected: "distinct"),
    BadValues("calibrate", "calibration.quantile", ["median"], expected: "conformal"),
    BadValues(
        "calibrate", "calibration.group_split", ["1.5"], .inconsistent, expected: "auto, none or a fraction in (0, 1)"),
    BadValues("calibrate", "calibration.fallback", ["pixel"], expected: "image"),
    BadValues("eval", "evaluation.alphas", ["[0.1,1]"], expected: "(0, 1)"),
    BadValues("eval", "evaluation.indexing", ["nearest"], expected: "at-or-above"),
    BadValues("eval", "evaluation.class_idx", ["5"], .inconsistent, expected: "a class index in 0...1"),
    BadValues("train", "model.loss.k_frac", ["2", "0", "nan"], expected: "a number in (0, 1]"),
    BadValues("train", "model.loss.class_weights", ["[0,0]"], expected: "non-negative weights with a positive sum"),
    BadValues("train", "model.loss.class_weights", ["[1]"], .inconsistent, expected: "expected 2 weights"),
    BadValues("train", "data.categories", ["[]"], expected: "a list of 1 to 64 non-empty words"),
    BadValues("train", "model.net.depth", ["0", "40"], expected: "an integer in 1...8"),
    BadValues("train", "model.net.channels", ["0", "-3"], expected: "an integer in 2...2048"),
    BadValues("train", "model.net.channels", ["7"], expected: "an even integer in 2...2048"),
    BadValues(
        "train", "model.net.channels", ["512"], after: ["model.net.depth=5"], .inconsistent,
        expected: "the widest layer would have 8192 channels"),
    BadValues("train", "model.net.dropout", ["2"], expected: "a number in [0, 1)"),
    BadValues("train", "model.scheduler.T_0", ["0"], expected: "an integer in 1...1000000"),
    BadValues("train", "model.scheduler.T_mult", ["-9223372036854775808"], expected: "an integer in 1...1000"),
    BadValues("train", "data.augmentations.affine.scale", ["[0,0]"], expected: "each in (0, 10]"),
    BadValues("train", "data.augmentations.affine.scale", ["[1.2,0.8]"], expected: "low ≤ high"),
    BadValues("train", "data.dims", ["[100000,100000]"], expected: "a list of 2 integers in 1...8192"),
    BadValues("train", "data.dims", ["[8192,8192]"], expected: "at most 4194304 pixels"),
    BadValues("train", "data.dims", ["[100,100]"], .inconsistent, expected: "sides divisible by 16"),
    BadValues("train", "model.optimizer.lr", ["nan", "1e300"], expected: "a number in (0, 1000]"),
    BadValues("train", "data.num_workers", ["-1"], expected: "an integer in 0...64"),
    BadValues("train", "data.augmentations.horizontal_flip.p", ["5"], expected: "a number in [0, 1]"),
    BadValues("calibrate", "calibration.mutation_factor", ["5"], expected: "a number in [0, 2]"),
    BadValues("calibrate", "calibration.tol", ["nan"], expected: "a finite number ≥ 0"),
    BadValues(
        "calibrate", "calibration.curve_points", ["[60,101]"], .inconsistent,
        expected: "index 101 is not below the curve count (101)"),
    BadValues(
        "calibrate", "calibration.curve_points", ["[60,100]"], after: ["calibration.quantile=linear"], .inconsistent,
        expected: "index 100 is not below the curve count (100)"),
    BadValues("train", "seed", ["-1"], expected: "an integer ≥ 0"),
    BadValues("train", "model.net.out_channels", ["3"], .inconsistent, expected: "expected 2, one plane per class"),
    BadValues("train", "trainer.check_val_every_n_epoch", ["0"], expected: "an integer in 1...1000000"),
    BadValues("train", "trainer.keep_last", ["-1"], expected: "an integer in 0...1000000"),
    BadValues("train", "trainer.keep_best", ["all"], .wrongType, expected: "an integer in 0...1000000, found 'all'"),
    BadValues("train", "trainer.best_metric", ["val_acc"], expected: "val_loss, val_dice or val_dice_<category>"),
    BadValues(
        "train", "trainer.best_metric", ["val_dice_cat"], .inconsistent,
        expected: "expected one of val_loss, val_dice, val_dice_person"),
    BadValues("eval", "evaluation.bins", ["1000000000"], expected: "an integer in 1...1000"),
    BadValues("eval", "evaluation.reliability_pixel", ["[96,0]"], .inconsistent, expected: "a row below 96"),
    BadValues(
        "pipeline", "pipeline.strategies", ["[pixel,nope]"], expected: "words among pixel, image, kmeans, gen-ann"),
    BadValues("pipeline", "pipeline.draws.small", ["0"], expected: "an integer in 1...1000"),
    BadValues("pipeline", "pipeline.coverage_alphas", ["[0.1,1.5]"], expected: "(0, 1)"),
    BadValues("predict", "alpha", ["1"], expected: "a number in (0, 1)"),
    BadValues("predict", "indexing", ["nearest"], expected: "one of auto, at-or-above, interpolated, reference"),
    BadValues(
        "train", "data.generator.scene", ["ct"], after: ["data=synthetic-anatomy"], expected: "one of person, anatomy"),
    BadValues("pipeline", "data.generator.scene", ["Person"], expected: "one of person, anatomy"),
    BadValues("train", "data.batch_size", ["eight"], .wrongType, expected: "an integer in 1...1024, found 'eight'"),
    BadValues("train", "data.augmentations", ["5"], .wrongType, expected: "a section, found '5'"),
].flatMap(\.cases)

@Suite struct ConfigSchemaTests {
    @Test(arguments: badValues)
    func badValueIsOneErrorNamingKeyValueRangeAndOverride(_ case: BadValue) throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(primary: `case`.primary, overrides: `case`.overrides, environment: [:])
        }
        let override = try #require(`case`.overrides.last)
        let value = String(override[override.index(after: override.firstIndex(of: "=")!)...])
        #expect(error?.code == `case`.code)
        #expect(error?.key == `case`.key)
        let message = error?.description ?? ""
        #expect(message.hasPrefix("config key '\(`case`.key)' "), "\(message)")
        #expect(message.replacingOccurrences(of: " ", with: "").contains(String(value.prefix(20))), "\(message)")
        #expect(message.contains(`case`.expected), "\(message)")
        #expect(message.contains("(from override '\(override.prefix(20))"), "\(message)")
        #expect(!message.contains("\n"))
    }

    /// The configuration files spell the groupings' defaults out, so that `config.yaml` shows
    /// them; they must be the strategies' own ``KMeansGrouping/Parameters/default`` and
    /// ``AnnulusGrouping/Parameters/default`` (but for the seed, which is the study's).
    @Test(arguments: ["calibrate", "pipeline"])
    func theConfigurationsGroupingDefaultsAreTheStrategiesDefaults(primary: String) throws {
        let config = try ConfigComposer.builtIn.compose(primary: primary, overrides: [], environment: [:])
        let seed = try config.value(\.calibration.seed)
        var kmeans = KMeansGrouping.Parameters.default
        var annulus = AnnulusGrouping.Parameters.default
        (kmeans.seed, annulus.seed) = (seed, seed)
        #expect(try CalibrationSettings.grouping(config: config, method: .kmeans) == .kmeans(kmeans))
        #expect(try CalibrationSettings.grouping(config: config, method: .genAnn) == .genAnn(annulus))
        #expect(try CalibrationSettings.grouping(config: config, method: .pixel) == .pixel)
        #expect(try CalibrationSettings.grouping(config: config, method: .image) == .image)
    }

    @Test func theValidBuiltInConfigurationsPassAndReadTheirValuesUnchanged() throws {
        let config = try ConfigComposer.builtIn.compose(primary: "pipeline", overrides: [], environment: [:])
        let calibration = try CalibrationSettings(config: config)
        #expect(calibration.grouping == .pixel && calibration.seed == 12345)
        #expect(calibration.grouping.classes == nil && calibration.rule == .conformal && calibration.fallback == .none)
        #expect(calibration.groupSplit == nil)
        let annulus = try CalibrationSettings.grouping(config: config, method: .genAnn)
        guard case .genAnn(let parameters) = annulus else {
            Issue.record("\(annulus)")
            return
        }
        #expect(parameters.curvePoints == [60, 70, 80, 90])
        #expect(parameters.bounds == [[-20, 20], [-20, 20], [0, 150], [0, 150], [0, 300]])
        #expect(parameters.differentialWeight == 0.8 && parameters.crossoverProbability == 0.7)
        #expect(parameters.tolerance == 0.5 && parameters.seed == 12345)
        #expect(calibration.curveCount == nil)
        let model = try ModelSettings(config: config)
        #expect(
            model.architecture.channels == 8 && model.architecture.depth == 4 && model.architecture.outputChannels == 2)
        #expect(model.loss.keptFraction == 0.5 && model.loss.classWeights == nil)
        let optimizer = try OptimizerSettings(config: config)
        #expect(
            optimizer.schedule
                == .init(baseLearningRate: 1e-3, firstCycleLength: 15, cycleGrowth: 1, minimumLearningRate: 0))
        let evaluation = try EvaluationSettings(config: config)
        #expect(evaluation.bins == 20 && evaluation.eceBins == 20 && evaluation.reliabilityPixel == nil)
        let augmentation = try #require(try ExperimentData.augmentation(config: config))
        #expect(
            augmentation
                == .init(flipProbability: 0.5, maxRotationDegrees: 5, maxTranslation: 0.1, scaleRange: 0.8...1.2))
        let unaugmented = try ConfigComposer.builtIn.compose(
            primary: "train", overrides: ["data.augmentations=null"], environment: [:])
        #expect(try ExperimentData.augmentation(config: unaugmented) == nil)
    }

    @Test func everyDeclaredKeyIsInABuiltInConfigurationAndInTheHelp() throws {
        var paths = Set<String>()
        for primary in ["train", "calibrate", "eval", "predict", "pipeline"] {
            let config = try ConfigComposer.builtIn.compose(primary: primary, overrides: [], environment: [:])
            paths.formUnion(config.root.allKeyPaths)
        }
        let help = ConfigSchema.helpText()
        #expect(ConfigSchema.keys.count == 92)
        #expect(Set(ConfigSchema.keys.map(\.path)).count == ConfigSchema.keys.count)
        for key in ConfigSchema.keys {
            #expect(paths.contains(key.path), "\(key.path) is in no built-in configuration")
            #expect(
                help.contains("\n\(key.path): ") || help.hasPrefix("\(key.path): "), "\(key.path) is not in help-config"
            )
        }
        #expect(help.contains("data.batch_size: an integer in 1...1024\n"))
        #expect(help.contains("calibration.bounds: 5 [low, high] pairs (cx, cy, r1, r2, r3) with low ≤ high"))
        #expect(help.contains("model.loss.class_weights: a list of 1 to 65 numbers, each in [0, 1000000], or null\n"))
        #expect(ConfigSchema.helpText(prefix: "model.net").split(separator: "\n").count == 10)
    }

    @Test func errorsNameTheFileAValueCameFrom() throws {
        let composer = ConfigComposer.builtIn
        let plain = try composer.compose(primary: "train", overrides: [], environment: [:])
        #expect(plain.sources.source(of: "data.batch_size") == "built-in config data/synthetic.yaml")
        #expect(plain.sources.source(of: "model.scheduler.T_0") == "built-in config model/scheduler/cosine.yaml")
        let experiment = try composer.compose(
            primary: "train", overrides: ["experiment=train_synthetic-person_t300"], environment: [:])
        #expect(
            experiment.sources.source(of: "model.net.channels")
                == "built-in config experiment/train_synthetic-person_t300.yaml")
        #expect(experiment.sources.source(of: "model.net.depth") == "built-in config model/segmentation.yaml")
        let calibrate = try composer.compose(primary: "calibrate", overrides: ["ckpt_path=x"], environment: [:])
        #expect(
            calibrate.sources.source(of: "calibration.bounds.3")
                == "built-in config calibrate.yaml, via '${bounds}' in built-in config calibration/default.yaml")

        try withCopyOfBuiltInConfigs { directory in
            let file = directory.appendingPathComponent("data/synthetic.yaml")
            try (try String(contentsOf: file, encoding: .utf8)).replacingOccurrences(
                of: "batch_size: 8", with: "batch_size: 0"
            )
            .write(to: file, atomically: true, encoding: .utf8)
            let error = #expect(throws: ConfigError.self) {
                try ConfigComposer(directory: directory).compose(primary: "train", overrides: [], environment: [:])
            }
            #expect(
                error?.description
                    == "config key 'data.batch_size' is 0, expected an integer in 1...1024 (from \(file.path))")
        }
    }

    /// `predict` reads the class count from the calibrated model, which may have more classes
    /// than its data.categories say; the run checks class_idx against it before writing.
    @Test func predictLeavesItsClassIndexToTheModel() throws {
        let config = try ConfigComposer.builtIn.compose(
            primary: "predict", overrides: ["ckpt_path=x", "image=y", "class_idx=2"], environment: [:])
        #expect(try config.value(\.classIndex) == 2)
    }

    @Test func reversedBoundsNameThePair() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(
                primary: "calibrate", overrides: ["ckpt_path=x", "bounds=[[-20,20],[-20,20],[0,150],[150,0],[0,300]]"],
                environment: [:])
        }
        #expect(error?.key == "calibration.bounds")
        #expect(error?.description.contains("; the r2 pair (number 4) is reversed: [150, 0] (from") == true)
        #expect(
            error?.description.hasSuffix(
                "(from override 'bounds=[[-20,20],[-20,20],[0,150],[150,0],[0,300]]', via '${bounds}' in built-in config calibration/default.yaml)"
            ) == true)
        let short = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(
                primary: "calibrate",
                overrides: ["ckpt_path=x", "calibration.bounds=[[-20,20],[-20,20],[0,150],[0,150]]"], environment: [:])
        }
        #expect(short?.code == .outOfRange)
        #expect(short?.description.contains("expected 5 [low, high] pairs") == true)
    }

    @Test func aKeySetToASectionIsDescribedNotPrinted() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(
                primary: "train", overrides: ["data.batch_size=${trainer}"], environment: [:])
        }
        #expect(error?.code == .wrongType)
        #expect(
            error?.description
                == "config key 'data.batch_size' must be an integer in 1...1024, found a section with keys min_epochs, max_epochs, check_val_every_n_epoch, checkpoint_every_n_epochs, keep_last, keep_best, … (from built-in config trainer/default.yaml, via '${trainer}' in override 'data.batch_size=${trainer}')"
        )
        let config = try ConfigComposer.builtIn.compose(primary: "train", overrides: [], environment: [:])
        let legacy = #expect(throws: ConfigError.self) { _ = try config.int("model") }
        #expect(
            legacy?.description
                == "config key 'model' must be an integer, found a section with keys optimizer, net, loss, scheduler (from built-in config model/segmentation.yaml)"
        )
    }

    @Test(arguments: ["=1", "+=1", "data..batch_size=1", ".seed=1", "seed.=1"])
    func anOverrideWithAnEmptyKeySaysSo(_ override: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(primary: "train", overrides: [override], environment: [:])
        }
        #expect(error?.code == .badOverride)
        #expect(
            error?.description == "override '\(override)' has an empty key: expected key=value, e.g. data.batch_size=8")
    }

    /// Found by the fuzz test: a multi-line string where a choice was expected.
    @Test func aValueWithLineBreaksIsQuotedOnOneLine() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(
                primary: "eval", overrides: ["ckpt_path=x", "evaluation.precision=\"flo\\nat\""], environment: [:])
        }
        #expect(error?.code == .outOfRange)
        #expect(
            error?.description
                == "config key 'evaluation.precision' is flo\\nat, expected one of float, half-probabilities (from override 'evaluation.precision=\"flo\\nat\"')"
        )
    }

    @Test func aFileThatIsNotYAMLKeepsTheParsersError() throws {
        try withCopyOfBuiltInConfigs { directory in
            try Data("max_epochs: [1, 2\n".utf8).write(to: directory.appendingPathComponent("trainer/default.yaml"))
            let error = #expect(throws: ConfigError.self) {
                try ConfigComposer(directory: directory).compose(primary: "train", overrides: [], environment: [:])
            }
            #expect(error?.code == .malformedFile && error?.underlying != nil)
            #expect(
                error?.description.hasPrefix("\(directory.appendingPathComponent("trainer/default.yaml").path): ")
                    == true)
        }
    }

    @Test func aFileThatIsNotUTF8SaysSo() throws {
        try withCopyOfBuiltInConfigs { directory in
            try Data([0x62, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]).write(
                to: directory.appendingPathComponent("trainer/default.yaml"))
            let error = #expect(throws: ConfigError.self) {
                try ConfigComposer(directory: directory).compose(primary: "train", overrides: [], environment: [:])
            }
            #expect(error?.code == .malformedFile)
            #expect(
                error?.description == "\(directory.appendingPathComponent("trainer/default.yaml").path): not UTF-8 text"
            )
        }
    }

    @Test func interpolationCyclesNameTheirKeys() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(
                primary: "train", overrides: ["data.batch_size=${data}"], environment: [:])
        }
        #expect(error?.code == .badInterpolation)
        #expect(error?.description == "'data.batch_size' refers to 'data', which contains it: an interpolation cycle")
    }
}

// MARK: - Document limits

@Suite struct ConfigLimitTests {
    static func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
    }

    @Test func deepOverrideIsRefusedBeforeParsing() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(
                primary: "train", overrides: ["data.dims=\(Self.nested(10_000))"], environment: [:])
        }
        #expect(error?.code == .tooDeep)
        #expect(error?.description.hasPrefix("override 'data.dims=[[[[") == true)
        #expect(
            error?.description.hasSuffix("…' is nested more than 100 levels deep, the limit for configurations") == true
        )
    }

    @Test func deepFileIsRefusedNamingIt() throws {
        try withCopyOfBuiltInConfigs { directory in
            let file = directory.appendingPathComponent("trainer/default.yaml")
            for deep in [
                "extra: \(Self.nested(10_000))\n",
                (0..<1_000).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined(),
                "extra: " + String(repeating: "- ", count: 10_000) + "x\n",
            ] {
                try
                    (try String(
                        contentsOf: ConfigComposer.builtIn.directory.appendingPathComponent("trainer/default.yaml"),
                        encoding: .utf8) + deep)
                    .write(to: file, atomically: true, encoding: .utf8)
                let error = #expect(throws: ConfigError.self) {
                    try ConfigComposer(directory: directory).compose(primary: "train", overrides: [], environment: [:])
                }
                #expect(error?.code == .tooDeep)
                #expect(
                    error?.description
                        == "\(file.path) is nested more than 100 levels deep, the limit for configurations")
            }
        }
    }

    @Test func nestingWithinTheLimitParses() throws {
        let node = try ConfigNode.parse(yaml: "a: \(Self.nested(90))\n", file: "test")
        var inner = try #require(node["a"])
        var depth = 0
        while case .list(let items) = inner, let first = items.first {
            inner = first
            depth += 1
        }
        #expect(depth == 90)
        #expect(inner == .scalar("1", quoted: false))
    }

    @Test(arguments: [
        ("a: 1\nb:\n  c: [1, 2]\n", 4),
        ("a: \"[[[[[[[[[[[[\"\nb: '{{{{{{{{{{'\n", 2),
        ("# [[[[[[[[[[[[[[[[\na: 1 # {{{{{{{{{{{{{{{{\n", 2),
        ("a: |\n  [[[[[[[[[[[[[[[[[[[[\n  'unterminated\nb: [[[1]]]\n", 5),
        ("a: [b 'c, [[[[1]]]]]\n", 7),
        ("a: [&x \"]]]]\", [[1]]]\n", 5),
        ("- - - - x\n", 5),
    ])
    func nestingDepthIsConservative(_ text: String, _ depth: Int) {
        #expect(ConfigLimits.nestingDepth(of: text) == depth)
    }

    /// Nine lines of nested aliases: 9⁹ ≈ 387 million scalars once expanded.
    static let billionLaughs = """
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]

        """

    @Test func aliasBombInAFileIsRefused() throws {
        try withCopyOfBuiltInConfigs { directory in
            let file = directory.appendingPathComponent("trainer/default.yaml")
            try (try String(contentsOf: file, encoding: .utf8) + Self.billionLaughs).write(
                to: file, atomically: true, encoding: .utf8)
            let error = #expect(throws: ConfigError.self) {
                try ConfigComposer(directory: directory).compose(primary: "train", overrides: [], environment: [:])
            }
            #expect(error?.code == .tooManyNodes)
            #expect(
                error?.description
                    == "\(file.path) holds more than 100000 values once its aliases and references are expanded, the limit for configurations"
            )
        }
    }

    @Test func aliasBombInAnOverrideIsRefused() throws {
        let flow =
            "[&a [1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]]"
        let error = #expect(throws: ConfigError.self) {
            try ConfigComposer.builtIn.compose(primary: "train", overrides: ["+bomb=\(flow)"], environment: [:])
        }
        #expect(error?.code == .tooManyNodes)
        #expect(error?.description.hasPrefix("override '+bomb=[&a [1,1,1,1,1,1,1,1,1]") == true)
    }

    /// Each line is 60 levels deep in the text, but each alias nests the previous line's list
    /// 60 levels deeper: expanded, the last line is 600 levels deep.
    @Test func aliasesThatNestDeeperThanTheTextAreRefused() throws {
        var text = "l0: &l0 \(Self.nested(60))\n"
        for line in 1..<10 {
            text +=
                "l\(line): &l\(line) " + String(repeating: "[", count: 60) + "*l\(line - 1)"
                + String(repeating: "]", count: 60) + "\n"
        }
        #expect(ConfigLimits.nestingDepth(of: text) <= ConfigLimits.maximumDepth)
        let error = #expect(throws: ConfigError.self) { try ConfigNode.parse(yaml: text, file: "aliases.yaml") }
        #expect(error?.code == .tooDeep)
        #expect(
            error?.description
                == "aliases.yaml (with its aliases expanded) is nested more than 100 levels deep, the limit for configurations"
        )
    }

    @Test func aFewAliasesAreFine() throws {
        let node = try ConfigNode.parse(yaml: "a: &a [1, 2]\nb: *a\nc: [*a, *a]\n", file: "test")
        #expect(node["b"] == .list([.scalar("1", quoted: false), .scalar("2", quoted: false)]))
        #expect(node["c"] == .list([node["a"]!, node["a"]!]))
    }

    @Test func interpolationBombIsRefused() throws {
        var lines = ["l0: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        for level in 1...6 {
            lines.append(
                "l\(level): [" + Array(repeating: "\"${trainer.l\(level - 1)}\"", count: 10).joined(separator: ", ")
                    + "]")
        }
        try withCopyOfBuiltInConfigs { directory in
            let file = directory.appendingPathComponent("trainer/default.yaml")
            try (try String(contentsOf: file, encoding: .utf8) + lines.joined(separator: "\n") + "\n").write(
                to: file, atomically: true, encoding: .utf8)
            let error = #expect(throws: ConfigError.self) {
                try ConfigComposer(directory: directory).compose(primary: "train", overrides: [], environment: [:])
            }
            #expect(error?.code == .tooManyNodes)
            #expect(
                error?.description.hasPrefix("the interpolated configuration holds more than 100000 values") == true)
        }
    }
}

/// Runs `body` with a fresh copy of the built-in configuration directory, to edit in a test;
/// the copy is removed afterwards.
func withCopyOfBuiltInConfigs(_ body: (URL) throws -> Void) throws {
    try withScratchDirectory("configs") { copy in
        for name in try FileManager.default.contentsOfDirectory(atPath: ConfigComposer.builtIn.directory.path) {
            try FileManager.default.copyItem(
                at: ConfigComposer.builtIn.directory.appendingPathComponent(name),
                to: copy.appendingPathComponent(name))
        }
        try body(copy)
    }
}

import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyModels
import Testing

@testable import KandinskyExperiments

/// Seeded mutations of the shipped configurations and random overrides: each input composes,
/// or fails with one ``ConfigError`` on one line; a trap would end the test process.
///
/// `KANDINSKY_FUZZ_ITERATIONS` sets the number of inputs (10,000 by default, a few tens of
/// seconds in a debug build); input `i` is drawn from `SeededGenerator.stream(i, of: seed)`, so a
/// failure is replayed by its index alone.
@Suite struct ConfigFuzzTests {
    static let seed: UInt64 = 0x5EED_C0F1
    static var iterations: Int {
        ProcessInfo.processInfo.environment["KANDINSKY_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 10_000
    }

    /// Text a mutation inserts: YAML structure, Hydra syntax and values at the edges of ranges.
    static let fragments = [
        "[", "]", "{", "}", ": ", "- ", ", ", "&a ", "*a", "&b [*a, *a, *a, *a]", "${", "}", "${data}", "${nope.key}",
        "${oc.env:HOME}", "${oc.env:KANDINSKY_UNSET_VARIABLE}", "???", "null", "~", "\n", "\n  ", "  ", "\t", "'", "\"",
        "# ", "|\n",
        ">-\n", "<<: *a\n", "!!binary ", "!!int ", "%YAML 1.2\n---\n", "\n...\n", "\n---\n", "9223372036854775808",
        "-9223372036854775808",
        "-1", "0", "nan", ".inf", "1e308", "1e-320", "0x1F", "\u{0}", "\u{FEFF}", "é", "\\", "@package _global_",
        "defaults:\n  - nope: x\n",
        "- override /data: nope\n", "_self_", "optional ",
    ]

    /// Values an override assigns.
    static let values = [
        "0", "1", "-1", "2", "7", "8", "1000", "1001", "1e8", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999",
        "0.5", "1.5", "nan", "-nan", "inf", "-inf", "1e-300", "", "''", "null", "~", "???", "true", "text", "[]", "[0]",
        "[0,0]", "[1]", "[1,2]",
        "[128,96]", "[32,32]", "[100000,100000]", "[-1,2]", "[1.5,2]", "[[1,2],[3,4]]",
        "[[0,1],[0,1],[0,1],[0,1],[1,0]]", "{a: 1}", "{}",
        "${data}", "${data.dims}", "${seed}", "${nope}", "${oc.env:HOME}", "${oc.env:KANDINSKY_UNSET_VARIABLE,7}",
        "[pixel,image]", "[nope]",
        "pixel", "gen-ann", "half-probabilities", "reference", "[[[[[[[[[[[[1]]]]]]]]]]]]",
        String(repeating: "[", count: 300),
        "[&a [1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e]]",
        "'unterminated", "a: b: c", "- x", "*undefined", "&x", "[1, *a]", "\"two\\nlines\"", "|\n  block\n  text",
        "{\"a\\nb\": 1}",
    ]

    static let primaries = ["train", "calibrate", "eval", "predict", "pipeline"]

    @Test func mutatedConfigsAndOverridesGiveTypedErrorsOrComposeIntoUsableSettings() throws {
        try withCopyOfBuiltInConfigs { directory in
            let composer = ConfigComposer(directory: directory)
            let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter {
                $0.hasSuffix(".yaml")
            }
            .sorted()
            let originals = try files.map {
                try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)
            }
            let keys = ConfigSchema.keys.map(\.path)
            let experiments = files.filter { $0.hasPrefix("experiment/") }.map {
                String($0.dropFirst("experiment/".count).dropLast(".yaml".count))
            }
            var outcomes: [String: Int] = [:]
            var unexpected: [String] = []

            for index in 0..<Self.iterations {
                var random = SeededGenerator.stream(index, of: Self.seed)
                var mutated: Int?
                if Bool.random(using: &random) {
                    let file = Int.random(in: 0..<files.count, using: &random)
                    let text = Self.mutate(originals[file], using: &random)
                    try text.write(
                        to: directory.appendingPathComponent(files[file]), atomically: false, encoding: .utf8)
                    mutated = file
                }
                let primary = Self.primaries.randomElement(using: &random)!
                // The values the command needs, usually: a checkpoint for all but train, an image for predict.
                var overrides =
                    (primary == "train" || primary == "pipeline" ? [] : ["ckpt_path=x"])
                    + (primary == "predict" ? ["image=y"] : [])
                overrides = overrides.filter { _ in Int.random(in: 0..<8, using: &random) > 0 }
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    overrides.append(Self.override(keys: keys, experiments: experiments, using: &random))
                }
                let outcome = Self.outcome(composer: composer, primary: primary, overrides: overrides)
                outcomes[outcome.name, default: 0] += 1
                if let problem = outcome.problem, unexpected.count < 10 {
                    unexpected.append(
                        "input \(index) (\(primary) \(overrides), file \(mutated.map { files[$0] } ?? "none")): \(problem)"
                    )
                }
                if let mutated {
                    try originals[mutated].write(
                        to: directory.appendingPathComponent(files[mutated]), atomically: false, encoding: .utf8)
                }
            }
            print(
                "Config fuzz, \(Self.iterations) inputs (seed \(Self.seed)): "
                    + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            #expect(unexpected.isEmpty, "\(unexpected.joined(separator: "\n"))")
            #expect(outcomes.values.reduce(0, +) == Self.iterations)
            if Self.iterations >= 1000 {
                // The mix reaches both ends: compositions that succeed and errors of the new kinds.
                #expect(outcomes["composed", default: 0] > 0)
                for kind in [
                    "outOfRange", "wrongType", "malformedFile", "tooDeep", "tooManyNodes", "badOverride", "unknownKey",
                ] {
                    #expect(outcomes["error \(kind)", default: 0] > 0, "no input gave \(kind)")
                }
            }
        }
    }

    /// The outcome of one input: "composed" (with every settings reader run on the result) or
    /// "error <code>"; `problem` describes anything else (an error that is not a one-line
    /// ``ConfigError``, or settings that would trip a precondition downstream).
    static func outcome(composer: ConfigComposer, primary: String, overrides: [String]) -> (
        name: String, problem: String?
    ) {
        do {
            let config = try composer.compose(
                primary: primary, overrides: overrides, environment: ["HOME": "/home/fuzz"])
            _ = config.yaml
            return ("composed", try checkSettings(config, primary: primary))
        } catch let error as ConfigError {
            let problem =
                error.description.contains("\n") || error.description.isEmpty
                ? "a message that is not one line: \(error.description)" : nil
            return ("error \(error.code)", problem)
        } catch {
            return ("other error", "\(type(of: error)): \(error)")
        }
    }

    /// Runs the readers the commands use on a composed configuration and builds what they
    /// build from it (cheap objects only); each reader either throws a ``ConfigError`` or gives
    /// values the downstream preconditions accept. Returns a description of a violation.
    static func checkSettings(_ config: Config, primary: String) throws -> String? {
        func attempt<T>(_ body: () throws -> T) throws -> T? {
            do { return try body() } catch is ConfigError { return nil }
        }
        if primary == "predict" {
            _ = try attempt {
                (
                    try config.value(\.alpha), try config.value(\.classIndex), try config.value(\.indexing),
                    try config.value(\.manifest)
                )
            }
            return nil
        }
        if let model = try attempt({ try ModelSettings(config: config) }) {
            let a = model.architecture
            guard a.inputChannels > 0, a.outputChannels > 0, a.channels >= 2, a.channels % 2 == 0,
                (1...8).contains(a.depth),
                a.dropout >= 0, a.dropout < 1
            else { return "ModelSettings accepted \(a)" }
        }
        _ = try attempt { try OptimizerSettings(config: config) }
        if primary == "calibrate" || primary == "pipeline",
            let calibration = try attempt({ try CalibrationSettings(config: config) })
        {
            let count = calibration.curveCount ?? Calibrator<PixelwiseGrouping>.defaultLevelCount(for: calibration.rule)
            let points = try config.value(\.calibration.curvePoints)
            guard count >= 2, points.allSatisfy({ $0 < count }) else {
                return "CalibrationSettings accepted \(count) curve points \(points)"
            }
            _ = calibration.grouping.makeGrouping()
        }
        if primary == "eval" || primary == "pipeline",
            let evaluation = try attempt({ try EvaluationSettings(config: config) })
        {
            _ = CoverageEvaluation(
                binCount: evaluation.bins, indexing: evaluation.indexing, precision: evaluation.precision,
                classIndex: evaluation.classIndex)
            _ = ProbabilityCalibration(binCount: evaluation.eceBins, classIndex: evaluation.classIndex)
        }
        if primary == "pipeline" { _ = try attempt { try Pipeline.Settings(config: config) } }
        _ = try attempt { try ExperimentData.augmentation(config: config) }
        if let dims = try attempt({ try config.value(\.data.dims) }) {
            _ = ResizeAndPad(width: dims[0], height: dims[1])
        }
        if let batch = try attempt({ try config.value(\.data.batchSize) }), batch < 1 {
            return "batch size \(batch) accepted"
        }
        _ = try attempt {
            _ = try config.value(\.seed)
            _ = try config.value(\.data.calibrationTrim)
        }
        return nil
    }

    /// One random edit of `text`: a byte replaced, a range deleted, a line repeated, a fragment
    /// inserted, or the text cut short.
    static func mutate(_ text: String, using random: inout SeededGenerator) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0x20...0x7E, using: &random)
            case 1 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...20, using: &random)))
            case 2:
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let line = lines.randomElement(using: &random) ?? ""
                bytes.insert(
                    contentsOf: Array((line + "\n").utf8),
                    at: bytes.firstIndex(of: UInt8(ascii: "\n"), after: position) ?? bytes.count)
            case 3:
                bytes = Array(bytes.prefix(position))
            default:
                var fragment = fragments.randomElement(using: &random)!
                if Int.random(in: 0..<20, using: &random) == 0 {
                    fragment = String(repeating: "[", count: Int.random(in: 90...2000, using: &random))
                }
                bytes.insert(contentsOf: Array(fragment.utf8), at: position)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A random override: mostly a declared key set to a value from ``values``, sometimes a
    /// group choice, a new key, a malformed key or no `=` at all.
    static func override(keys: [String], experiments: [String], using random: inout SeededGenerator) -> String {
        let value = values.randomElement(using: &random)!
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            return "experiment=" + (Bool.random(using: &random) ? experiments.randomElement(using: &random)! : value)
        case 1:
            return [
                "data=coco", "data=synthetic", "data=synthetic-anatomy", "data=nope", "model=segmentation",
                "model/scheduler=cosine", "paths=default",
            ].randomElement(using: &random)!
        case 2: return "+" + (["new.key", "data.new", "a", "seed"].randomElement(using: &random)!) + "=" + value
        case 3:
            return ["=1", "+=1", "a..b=1", ".x=1", "x.=1", "noequals", "data.batch_sise=3", "data.dims.0=5", "=", "+"]
                .randomElement(using: &random)!
        default: return keys.randomElement(using: &random)! + "=" + value
        }
    }
}

extension Array where Element == UInt8 {
    /// The index of the first `byte` at or after `start`.
    func firstIndex(of byte: UInt8, after start: Int) -> Int? {
        self[Swift.min(start, count)...].firstIndex(of: byte)
    }
}

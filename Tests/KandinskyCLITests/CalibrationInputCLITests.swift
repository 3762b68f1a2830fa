import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// `calibrate-scores`, `evaluate-scores` and `predict-sets` on every input form a model gives:
/// each must write exactly what the equivalent one-hot Float32 two-channel files give.
@Suite struct CalibrationInputCLITests {
    /// Sigmoid outputs p [N, 1, H, W] and labels [N, H, W] of a binary segmentation, written in
    /// every accepted form, beside the reference: probabilities [N, 2, H, W] Float32 with
    /// channel 0 = 1 − p (Float32 arithmetic) and one-hot U8 targets.
    struct Workspace {
        let directory: URL
        let n = 16, h = 5, w = 6

        /// Runs `body` with a workspace drawn with `seed`, removed afterwards.
        static func with(seed: UInt64 = 1, _ body: (Workspace) throws -> Void) throws {
            try withScratchDirectory("inputs-cli") { directory in try body(Workspace(in: directory, seed: seed)) }
        }

        private init(in directory: URL, seed: UInt64) throws {
            self.directory = directory
            let plane = h * w
            var generator = SeededGenerator(seed: seed)
            var p: [Float] = []
            var labels: [Int64] = []
            for image in 0..<n {
                for pixel in 0..<plane {
                    let dy = Double(pixel / w) - Double(h - 1) / 2
                    let dx = Double(pixel % w) - Double(w - 1) / 2
                    let value = Float(1 / (1 + exp(-(1.5 - (dx * dx + dy * dy) / 4 + generator.nextNormal()))))
                    p.append((image + pixel) % 11 == 0 ? 1 : value)
                    labels.append(generator.nextUnitFloat() < value ? 1 : 0)
                }
            }
            var twoChannel: [Float] = []
            var oneHot: [UInt8] = []
            for image in 0..<n {
                let slice = (image * plane)..<((image + 1) * plane)
                twoChannel += p[slice].map { 1 - $0 } + p[slice]
                oneHot += labels[slice].map { $0 == 0 ? 1 : 0 } + labels[slice].map { $0 == 1 ? 1 : 0 }
            }
            let single = [n, 1, h, w]
            let two = [n, 2, h, w]
            let labelShape = [n, h, w]
            try write(.float32(Tensor(shape: two, scalars: twoChannel)), "reference_probs.npy")
            try write(.uint8(ShapedArray(shape: two, scalars: oneHot)), "reference_targets.npy")
            try write(.float32(Tensor(shape: single, scalars: p)), "sigmoid.npy")
            try write(.float64(ShapedArray(shape: single, scalars: p.map { Double($0) })), "sigmoid64.npy")
            try write(.float64(ShapedArray(shape: two, scalars: twoChannel.map { Double($0) })), "probs64.npy")
            try write(.int64(ShapedArray(shape: labelShape, scalars: labels)), "labels.npy")
            try write(.uint8(ShapedArray(shape: single, scalars: labels.map { UInt8($0) })), "mask.npy")
            try write(.bool(ShapedArray(shape: two, scalars: oneHot.map { $0 == 1 })), "targets_bool.npy")
            try write(.float64(ShapedArray(shape: two, scalars: oneHot.map { Double($0) })), "targets64.npy")
        }

        func write(_ array: AnyShapedArray, _ name: String) throws { try NumpyFile.write(array, to: url(name)) }
        func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
        func path(_ name: String) -> String { url(name).path }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
        func bytes(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }
    }

    /// A calibrated-model file's contents: the raw bytes of every tensor by name (so that NaN
    /// curves compare equal) and its metadata.
    struct Contents: Equatable {
        var tensors: [String: Data] = [:]
        var metadata: [String: String]

        init(_ url: URL) throws {
            let file = try SafetensorsFile.read(contentsOf: url)
            metadata = file.metadata
            for (name, array) in file.tensors { tensors[name] = array.withUnsafeBytes { Data($0) } }
        }
    }

    func calibrate(_ work: Workspace, _ probs: String, _ targets: String, method: String, out: String) throws
        -> KandinskyRun
    {
        try runKandinsky([
            "calibrate-scores", "--probs", work.path(probs), "--targets", work.path(targets), "--method", method,
            "--clusters", "2", "--curve-count", "30", "--curve-points", "15,20", "--out", work.path(out),
        ])
    }

    @Test func everyFormCalibratesEvaluatesAndPredictsLikeTheReference() throws {
        try Workspace.with { work in
            let forms = [
                ("sigmoid.npy", "labels.npy"), ("sigmoid.npy", "mask.npy"), ("sigmoid64.npy", "reference_targets.npy"),
                ("probs64.npy", "targets64.npy"), ("reference_probs.npy", "targets_bool.npy"),
                ("reference_probs.npy", "labels.npy"),
            ]
            for method in ["pixel", "image", "kmeans"] {
                let reference = try calibrate(
                    work, "reference_probs.npy", "reference_targets.npy", method: method, out: "reference.safetensors")
                #expect(reference.status == 0, "\(reference.stderr)")
                let expected = try Contents(work.url("reference.safetensors"))
                #expect(
                    expected.tensors["nc_curves_class1"] != nil || expected.tensors["nc_group_curves_class1"] != nil,
                    "\(method)")
                #expect(expected.metadata["method"] == method)
                for (probs, targets) in forms {
                    let run = try calibrate(work, probs, targets, method: method, out: "form.safetensors")
                    #expect(run.status == 0, "\(run.stderr)")
                    #expect(run.stderr.isEmpty, "\(run.stderr)")
                    let same = try Contents(work.url("form.safetensors")) == expected
                    #expect(same, "\(method): \(probs) + \(targets) calibrate differently from the reference")
                }
            }

            // Prediction sets from single-channel probabilities are [N, 2, H, W] and equal the
            // reference's.
            for alpha in ["0.1", "0.3"] {
                let reference = try runKandinsky([
                    "predict-sets", "--probs", work.path("reference_probs.npy"), "--curves",
                    work.path("reference.safetensors"), "--alpha", alpha, "--out", work.path("reference_sets.npy"),
                ])
                #expect(reference.status == 0, "\(reference.stderr)")
                for probs in ["sigmoid.npy", "sigmoid64.npy", "probs64.npy"] {
                    let run = try runKandinsky([
                        "predict-sets", "--probs", work.path(probs), "--curves", work.path("reference.safetensors"),
                        "--alpha", alpha, "--out", work.path("sets.npy"),
                    ])
                    #expect(run.status == 0, "\(run.stderr)")
                    #expect(try NumpyFile.read(contentsOf: work.url("sets.npy")).shape == [work.n, 2, work.h, work.w])
                    #expect(try work.bytes("sets.npy") == work.bytes("reference_sets.npy"), "\(probs) at α = \(alpha)")
                }
            }

            // Evaluation: every written file is the same as the reference's.
            let outputs = [
                "pixelwise_ce.npy", "coverages.npy", "pixelwise_ece.npy", "structure_frequency.npy", "summary.json",
                "reliability.json",
            ]
            let reference = try runKandinsky([
                "evaluate-scores", "--probs", work.path("reference_probs.npy"), "--targets",
                work.path("reference_targets.npy"), "--curves", work.path("reference.safetensors"),
                "--out", work.path("reference_eval"),
            ])
            #expect(reference.status == 0, "\(reference.stderr)")
            for (probs, targets) in [("sigmoid.npy", "labels.npy"), ("sigmoid64.npy", "mask.npy")] {
                let directory = "eval_\(probs)_\(targets)"
                let run = try runKandinsky([
                    "evaluate-scores", "--probs", work.path(probs), "--targets", work.path(targets),
                    "--curves", work.path("reference.safetensors"), "--out", work.path(directory),
                ])
                #expect(run.status == 0, "\(run.stderr)")
                for name in outputs {
                    #expect(
                        try work.bytes("\(directory)/\(name)") == work.bytes("reference_eval/\(name)"),
                        "\(probs) + \(targets): \(name)")
                }
            }
        }
    }

    @Test func clampedProbabilitiesGiveOneWarningLine() throws {
        try Workspace.with(seed: 2) { work in
            guard case .float32(let reference) = try NumpyFile.read(contentsOf: work.url("reference_probs.npy")) else {
                Issue.record("reference_probs.npy is not Float32")
                return
            }
            // Three values moved outside [0, 1] by exact binary amounts: 8·2⁻²³, 40·2⁻²³ and
            // 24·2⁻²³ ≈ 2.86e-6, the largest 40·2⁻²³ ≈ 4.77e-6.
            var values = reference.scalars
            values[3] = 1 + 8 * 0x1p-23
            values[100] = -40 * 0x1p-23
            values[517] = 1 + 24 * 0x1p-23
            try work.write(.float32(Tensor(shape: reference.shape, scalars: values)), "rounded.npy")
            let warning =
                "warning: \(work.path("rounded.npy")): clamped 3 probabilities outside [0, 1] by at most 4.8e-06"
            let calibrated = try calibrate(
                work, "rounded.npy", "reference_targets.npy", method: "image", out: "rounded.safetensors")
            #expect(calibrated.status == 0, "\(calibrated.stderr)")
            #expect(calibrated.stderr.split(separator: "\n") == [Substring(warning)], "\(calibrated.stderr)")
            let predict = try runKandinsky([
                "predict-sets", "--probs", work.path("rounded.npy"), "--curves", work.path("rounded.safetensors"),
                "--alpha", "0.1", "--out", work.path("sets.npy"),
            ])
            #expect(predict.status == 0, "\(predict.stderr)")
            #expect(predict.stderr.split(separator: "\n") == [Substring(warning)], "\(predict.stderr)")
            let evaluate = try runKandinsky([
                "evaluate-scores", "--probs", work.path("rounded.npy"), "--targets", work.path("labels.npy"),
                "--curves", work.path("rounded.safetensors"), "--out", work.path("eval"),
            ])
            #expect(evaluate.status == 0, "\(evaluate.stderr)")
            #expect(evaluate.stderr.split(separator: "\n") == [Substring(warning)], "\(evaluate.stderr)")

            // The clamped values calibrate as 1, 0 and 1 would.
            values[3] = 1
            values[100] = 0
            values[517] = 1
            try work.write(.float32(Tensor(shape: reference.shape, scalars: values)), "clamped.npy")
            let clamped = try calibrate(
                work, "clamped.npy", "reference_targets.npy", method: "image", out: "clamped.safetensors")
            #expect(clamped.status == 0 && clamped.stderr.isEmpty, "\(clamped.stderr)")
            let same = try Contents(work.url("rounded.safetensors")) == Contents(work.url("clamped.safetensors"))
            #expect(same)
        }
    }

    /// Runs a command that must fail with one error line mentioning `mentions` and write nothing.
    func expectFailure(
        _ arguments: [String], mentioning mentions: [String], output: String, in work: Workspace,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let run = try runKandinsky(arguments)
        #expect(run.status == 1, "\(run.stderr)", sourceLocation: sourceLocation)
        expectOneErrorLine(run, mentioning: mentions, sourceLocation: sourceLocation)
        #expect(!work.exists(output), "\(output) was written", sourceLocation: sourceLocation)
    }

    @Test func badInputFormsGiveOneClearLine() throws {
        try Workspace.with(seed: 3) { work in
            func calibrate(_ probs: String, _ targets: String) -> [String] {
                [
                    "calibrate-scores", "--probs", work.path(probs), "--targets", work.path(targets), "--method",
                    "image",
                    "--out", work.path("out.safetensors"),
                ]
            }
            let model = try self.calibrate(work, "sigmoid.npy", "labels.npy", method: "image", out: "model.safetensors")
            #expect(model.status == 0, "\(model.stderr)")
            // Beyond the tolerance: 1 + 84·2⁻²³ ≈ 1 + 1.0014e-5 at [1, 0, 2, 3], with a clamped value
            // before it (no warning is printed when the command fails).
            var sigmoid = [Float](repeating: 0.5, count: work.n * work.h * work.w)
            sigmoid[0] = 1 + 0x1p-23
            sigmoid[30 + 2 * 6 + 3] = 1 + 84 * 0x1p-23
            try work.write(.float32(Tensor(shape: [work.n, 1, work.h, work.w], scalars: sigmoid)), "beyond.npy")
            try expectFailure(
                calibrate("beyond.npy", "labels.npy"), mentioning: ["beyond.npy", "1.00001", "[1, 0, 2, 3]"],
                output: "out.safetensors", in: work)
            try expectFailure(
                [
                    "predict-sets", "--probs", work.path("beyond.npy"), "--curves", work.path("model.safetensors"),
                    "--alpha", "0.1", "--out", work.path("sets.npy"),
                ],
                mentioning: ["beyond.npy", "1.00001", "[1, 0, 2, 3]"], output: "sets.npy", in: work)

            // A label outside 0..<2 at [2, 4, 5].
            var labels = [Int64](repeating: 0, count: work.n * work.h * work.w)
            labels[2 * 30 + 4 * 6 + 5] = 2
            try work.write(.int64(ShapedArray(shape: [work.n, work.h, work.w], scalars: labels)), "bad_labels.npy")
            try expectFailure(
                calibrate("sigmoid.npy", "bad_labels.npy"),
                mentioning: ["bad_labels.npy", "0..<2", "found 2", "[2, 4, 5]"],
                output: "out.safetensors", in: work)
            try expectFailure(
                calibrate("reference_probs.npy", "bad_labels.npy"),
                mentioning: ["bad_labels.npy", "found 2", "[2, 4, 5]"],
                output: "out.safetensors", in: work)

            // A label map of another image size names both shapes.
            try work.write(.int64(ShapedArray(shape: [work.n, work.h, work.w + 1], repeating: 0)), "wide_labels.npy")
            try expectFailure(
                calibrate("sigmoid.npy", "wide_labels.npy"),
                mentioning: ["wide_labels.npy", "[16, 5, 7]", "[16, 1, 5, 6]", "sigmoid.npy"],
                output: "out.safetensors",
                in: work)
            try expectFailure(
                [
                    "evaluate-scores", "--probs", work.path("reference_probs.npy"), "--targets",
                    work.path("wide_labels.npy"),
                    "--curves", work.path("model.safetensors"), "--out", work.path("eval"),
                ],
                mentioning: ["wide_labels.npy", "[16, 5, 7]", "[16, 2, 5, 6]"], output: "eval", in: work)

            // A mask [N, 1, H, W] beside two-channel probabilities fits no form.
            try expectFailure(
                calibrate("reference_probs.npy", "mask.npy"),
                mentioning: ["mask.npy", "[16, 1, 5, 6]", "[16, 2, 5, 6]"],
                output: "out.safetensors", in: work)
        }
    }
}

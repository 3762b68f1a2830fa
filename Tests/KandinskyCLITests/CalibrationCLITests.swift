import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// Round trips and error messages of `calibrate-scores`, `evaluate-scores` and `predict-sets`.
@Suite struct CalibrationCLITests {
    /// A scratch directory with deterministic probabilities [N, 2, H, W] and targets: class 1
    /// is likelier near the centre; class 0 is its complement.
    struct Workspace {
        let directory: URL
        let shape: [Int]

        /// Runs `body` with a workspace of `n` images of `h` × `w` drawn with `seed`, removed
        /// afterwards.
        static func with(
            images n: Int = 24, height h: Int = 6, width w: Int = 8, seed: UInt64 = 1,
            _ body: (Workspace) throws -> Void
        ) throws {
            try withScratchDirectory("calibration-cli") { directory in
                try body(Workspace(in: directory, images: n, height: h, width: w, seed: seed))
            }
        }

        private init(in directory: URL, images n: Int, height h: Int, width w: Int, seed: UInt64) throws {
            self.directory = directory
            shape = [n, 2, h, w]
            var generator = SeededGenerator(seed: seed)
            var p = [Float](repeating: 0, count: n * 2 * h * w)
            var t = [UInt8](repeating: 0, count: n * 2 * h * w)
            for image in 0..<n {
                for pixel in 0..<(h * w) {
                    let dy = Double(pixel / w) - Double(h - 1) / 2
                    let dx = Double(pixel % w) - Double(w - 1) / 2
                    let base = 1.5 - (dx * dx + dy * dy) / 6
                    let predicted = Float(1 / (1 + exp(-(base + generator.nextNormal()))))
                    let positive: UInt8 = generator.nextUnitFloat() < predicted ? 1 : 0
                    p[(image * 2 + 1) * h * w + pixel] = predicted
                    p[(image * 2) * h * w + pixel] = 1 - predicted
                    t[(image * 2 + 1) * h * w + pixel] = positive
                    t[(image * 2) * h * w + pixel] = 1 - positive
                }
            }
            try NumpyFile.write(.float32(Tensor(shape: shape, scalars: p)), to: url("probs.npy"))
            try NumpyFile.write(.uint8(ShapedArray(shape: shape, scalars: t)), to: url("targets.npy"))
            try NumpyFile.write(
                .float16(HalfTensor(shape: shape, scalars: p.map { Float16($0) })), to: url("probs16.npy"))
            try NumpyFile.write(
                .bool(ShapedArray(shape: shape, scalars: t.map { $0 == 1 })), to: url("targets_bool.npy"))
        }

        func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
        func path(_ name: String) -> String { url(name).path }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    }

    @Test func calibrateEvaluateAndPredictRoundTrip() throws {
        try Workspace.with { work in
            let calibrate = try runKandinsky([
                "calibrate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                "--method", "kmeans", "--clusters", "3", "--curve-count", "50",
                "--curve-points", "30,35,40,45", "--out", work.path("cmodel.safetensors"),
            ])
            #expect(calibrate.status == 0, "\(calibrate.stderr)")
            #expect(calibrate.stdout.contains("method kmeans"))
            let file = try SafetensorsFile.read(contentsOf: work.url("cmodel.safetensors"))
            #expect(file["nc_group_curves_class1"]?.shape[0] == 50 && file["group_labels_class1"]?.shape == [6, 8])
            #expect(file["nc_group_curves_class0"]?.shape[0] == 50 && file["group_labels_class0"]?.shape == [6, 8])
            #expect(file.metadata["format_version"] == "3")
            #expect(file.metadata["method"] == "kmeans")
            #expect(file.metadata["calibration_images"] == "24")
            #expect(file.metadata["parameters"]?.contains("\"clusterCount\":3") == true)

            let evaluate = try runKandinsky([
                "evaluate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                "--curves", work.path("cmodel.safetensors"), "--out", work.path("eval"), "--bins", "10",
            ])
            #expect(evaluate.status == 0, "\(evaluate.stderr)")
            for name in [
                "pixelwise_ce.npy", "coverages.npy", "pixelwise_ece.npy", "structure_frequency.npy", "summary.json",
                "reliability.json", "coverage.svg", "pixel_coverage.svg", "reliability_pooled.svg",
                "reliability_pixel.svg",
                "pixelwise_ce.png", "pixelwise_ece.png", "structure_frequency.png",
            ] {
                #expect(work.exists("eval/\(name)"), "missing \(name)")
            }
            #expect(try NumpyFile.read(contentsOf: work.url("eval/coverages.npy")).shape == [10])
            #expect(try NumpyFile.read(contentsOf: work.url("eval/pixelwise_ce.npy")).shape == [6, 8])
            let summary =
                try JSONSerialization.jsonObject(with: Data(contentsOf: work.url("eval/summary.json")))
                as? [String: Any]
            let marginal = try #require(summary?["marginal_ce"] as? Double)
            // In-sample evaluation of pooled curves: close to nominal.
            #expect(marginal >= 0 && marginal < 0.1)
            #expect(summary?["mean_pixelwise_ce"] is Double && summary?["mean_pixelwise_ece"] is Double)
            #expect(summary?["heat_map_range"] as? [Double] == [0, 0.25] && summary?["pixel"] as? [Int] == [3, 4])
            #expect(summary?["method"] as? String == "kmeans" && summary?["bins"] as? Int == 10)
            #expect(try String(contentsOf: work.url("eval/coverage.svg"), encoding: .utf8).contains("CE₁₀ = "))
            try expectAudit(
                summary, stdout: evaluate.stdout, alphas: [0.2, 0.1, 0.05], groupsOfClass1: 3, testImages: 24)

            var sizes: [Int] = []
            for alpha in ["0.5", "0.1"] {
                let predict = try runKandinsky([
                    "predict-sets", "--probs", work.path("probs16.npy"), "--curves", work.path("cmodel.safetensors"),
                    "--alpha", alpha, "--out", work.path("sets\(alpha).npy"),
                ])
                #expect(predict.status == 0, "\(predict.stderr)")
                guard case .uint8(let sets) = try NumpyFile.read(contentsOf: work.url("sets\(alpha).npy")) else {
                    Issue.record("sets are not uint8")
                    return
                }
                #expect(sets.shape == work.shape)
                #expect(sets.scalars.allSatisfy { $0 <= 1 })
                sizes.append(sets.scalars.reduce(0) { $0 + Int($1) })
            }
            #expect(sizes[1] > sizes[0], "sets at 90 % confidence are larger than at 50 %: \(sizes)")
        }
    }

    @Test func annulusSearchFromHalfProbabilitiesAndBooleanTargets() throws {
        try Workspace.with(seed: 2) { work in
            let run = try runKandinsky([
                "calibrate-scores", "--probs", work.path("probs16.npy"), "--targets", work.path("targets_bool.npy"),
                "--method", "gen-ann", "--bounds=-1,1,-1,1,0,4,0,4,0,6", "--max-generations", "20",
                "--seed", "3", "--precision", "half-probabilities", "--classes", "1", "--out",
                work.path("ann.safetensors"),
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let file = try SafetensorsFile.read(contentsOf: work.url("ann.safetensors"))
            #expect(file.metadata["method"] == "gen-ann")
            #expect(file.metadata["precision"] == "half-probabilities")
            #expect(file.metadata["theta"]?.hasPrefix("[") == true && file.metadata["objective"] != nil)
            #expect(file["nc_curves_class0"]?.shape == [101, 6, 8])
            #expect(file["nc_group_curves_class1"]?.shape == [101, 4] && file["group_labels_class1"]?.shape == [6, 8])
        }
    }

    /// The audit of `summary.json`: rows for every class, each (class, group) with one row per α,
    /// class 1 with its groups, consistent numbers, and the table on stdout.
    func expectAudit(
        _ summary: [String: Any]?, stdout: String, alphas: [Double], groupsOfClass1: Int, testImages: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let rule = try #require(summary?["rule"] as? String, sourceLocation: sourceLocation)
        #expect(["conformal", "linear"].contains(rule), sourceLocation: sourceLocation)
        #expect(summary?["alphas"] as? [Double] == alphas, sourceLocation: sourceLocation)
        let rows = try #require(summary?["audit"] as? [[String: Any]], sourceLocation: sourceLocation)
        let classes = Set(rows.compactMap { $0["class_index"] as? Int })
        #expect(classes == [0, 1], "audit rows for every class", sourceLocation: sourceLocation)
        for c in classes.sorted() {
            let ofClass = rows.filter { $0["class_index"] as? Int == c }
            let groups = ofClass.map { ($0["group"] as? Int) ?? -1 }
            #expect(ofClass.count % alphas.count == 0 && !ofClass.isEmpty, sourceLocation: sourceLocation)
            for start in stride(from: 0, to: ofClass.count, by: alphas.count) {
                #expect(
                    ofClass[start..<(start + alphas.count)].map { $0["alpha"] as? Double } == alphas,
                    sourceLocation: sourceLocation)
                #expect(Set(groups[start..<(start + alphas.count)]).count == 1, sourceLocation: sourceLocation)
            }
            if c == 1 { #expect(Set(groups) == Set(0..<groupsOfClass1), "\(groups)", sourceLocation: sourceLocation) }
        }
        for row in rows {
            let images = try #require(row["test_images"] as? Int, sourceLocation: sourceLocation)
            #expect(images >= 0 && images <= testImages, sourceLocation: sourceLocation)
            #expect(
                row.keys.contains("calibration_images") && row.keys.contains("group"), sourceLocation: sourceLocation)
            if let coverage = row["per_image_coverage"] as? Double,
                let interval = row["per_image_interval"] as? [Double]
            {
                #expect(
                    interval.count == 2 && interval[0] <= coverage && coverage <= interval[1],
                    sourceLocation: sourceLocation)
            }
            if let size = row["mean_set_size"] as? Double {
                #expect(size >= 0 && size <= 2, sourceLocation: sourceLocation)
            }
            let shares = ["empty_share", "singleton_share", "full_share"].compactMap { row[$0] as? Double }
            #expect(shares.count == 3 && shares.allSatisfy { $0 >= 0 && $0 <= 1 }, sourceLocation: sourceLocation)
            #expect(row["shortfall"] is Bool, sourceLocation: sourceLocation)
        }
        let tableLines = stdout.split(separator: "\n").filter { $0.hasPrefix("0 ") || $0.hasPrefix("1 ") }
        #expect(
            tableLines.count == rows.count, "one printed line per audit row:\n\(stdout)", sourceLocation: sourceLocation
        )
        #expect(stdout.contains("per-image") && stdout.contains("set size"), sourceLocation: sourceLocation)
    }

    @Test func evaluateScoresAuditsTheChosenAlphasAndRefusesBadOnes() throws {
        try Workspace.with(images: 10, height: 4, width: 5, seed: 4) { work in
            let calibrate = try runKandinsky([
                "calibrate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                "--method", "image", "--out", work.path("image.safetensors"),
            ])
            #expect(calibrate.status == 0, "\(calibrate.stderr)")
            let evaluate = try runKandinsky([
                "evaluate-scores", "--probs", work.path("probs16.npy"), "--targets", work.path("targets.npy"),
                "--curves", work.path("image.safetensors"), "--out", work.path("eval"), "--alphas", "0.3, 0.01",
                "--precision", "half-probabilities",
            ])
            #expect(evaluate.status == 0, "\(evaluate.stderr)")
            let summary =
                try JSONSerialization.jsonObject(with: Data(contentsOf: work.url("eval/summary.json")))
                as? [String: Any]
            try expectAudit(summary, stdout: evaluate.stdout, alphas: [0.3, 0.01], groupsOfClass1: 1, testImages: 10)
            // Imagewise curves: one group per class holding all 20 pixels, with its calibration counts.
            let rows = try #require(summary?["audit"] as? [[String: Any]])
            #expect(rows.count == 4)
            #expect(
                rows.allSatisfy {
                    $0["pixels"] as? Int == 20 && $0["group"] as? Int == 0 && $0["calibration_scores"] is Int
                })
            // Half-probabilities binning keeps the extra bin of predictions of about 1.
            let reliability =
                try JSONSerialization.jsonObject(with: Data(contentsOf: work.url("eval/reliability.json")))
                as? [String: Any]
            #expect(((reliability?["pooled"] as? [String: Any])?["counts"] as? [Int])?.count == 21)
            try expectFailure(
                [
                    "evaluate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                    "--curves", work.path("image.safetensors"), "--out", work.path("bad"), "--alphas", "0.1,1.5",
                ],
                mentioning: ["--alphas", "(0, 1)", "1.5"], output: "bad", in: work)
        }
    }

    /// Runs a command that must fail with one error line mentioning `mentions` and write nothing.
    func expectFailure(
        _ arguments: [String], mentioning mentions: [String], output: String, in work: Workspace,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let run = try runKandinsky(arguments)
        #expect(run.status != 0, sourceLocation: sourceLocation)
        expectOneErrorLine(run, mentioning: mentions, sourceLocation: sourceLocation)
        #expect(!work.exists(output), "\(output) was written", sourceLocation: sourceLocation)
    }

    @Test func badInputsGiveOneClearLine() throws {
        try Workspace.with(images: 4, height: 3, width: 4) { work in
            func calibrate(_ probs: String, _ targets: String, _ extra: [String] = []) -> [String] {
                [
                    "calibrate-scores", "--probs", work.path(probs), "--targets", work.path(targets), "--method",
                    "pixel",
                    "--out", work.path("out.safetensors"),
                ] + extra
            }
            try NumpyFile.write(.float32(Tensor(shape: [4, 2, 3, 5], repeating: 0.5)), to: work.url("wide.npy"))
            try expectFailure(
                calibrate("wide.npy", "targets.npy"), mentioning: ["targets.npy", "[4, 2, 3, 4]", "[4, 2, 3, 5]"],
                output: "out.safetensors", in: work)
            var outside = [Float](repeating: 0.5, count: 96)
            outside[50] = 1.25
            try NumpyFile.write(.float32(Tensor(shape: [4, 2, 3, 4], scalars: outside)), to: work.url("outside.npy"))
            try expectFailure(
                calibrate("outside.npy", "targets.npy"), mentioning: ["outside.npy", "1.25", "[2, 0, 0, 2]"],
                output: "out.safetensors", in: work)
            try NumpyFile.write(.float32(Tensor(shape: [4, 2, 3, 4], repeating: .nan)), to: work.url("nan.npy"))
            try expectFailure(
                calibrate("nan.npy", "targets.npy"), mentioning: ["nan.npy", "nan"], output: "out.safetensors", in: work
            )
            try NumpyFile.write(.int64(ShapedArray(shape: [4, 2, 3, 4], repeating: 3)), to: work.url("threes.npy"))
            try expectFailure(
                calibrate("probs.npy", "threes.npy"), mentioning: ["threes.npy", "0 or 1", "3"],
                output: "out.safetensors",
                in: work)
            // Sizes from options are bounded before anything is allocated (curves Q × C × H × W, bins × H × W).
            try expectFailure(
                calibrate("probs.npy", "targets.npy", ["--curve-count", "10000000"]),
                mentioning: ["--curve-count", "2 to 1000", "10000000"],
                output: "out.safetensors", in: work)
            try expectFailure(
                [
                    "evaluate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                    "--curves", work.path("none.safetensors"), "--out", work.path("eval"), "--bins", "1000000000",
                ],
                mentioning: ["--bins", "1 to 1000", "1000000000"], output: "eval", in: work)
            try expectFailure(
                calibrate("probs.npy", "targets.npy", ["--group-split", "1.5"]), mentioning: ["--group-split", "1.5"],
                output: "out.safetensors", in: work)
            try expectFailure(
                calibrate("probs.npy", "targets.npy", ["--method", "kmeans", "--classes", "1,5"]),
                mentioning: ["class index 5", "2 classes"], output: "out.safetensors", in: work)
            try NumpyFile.write(.float32(Tensor(shape: [0, 2, 3, 4], repeating: 0)), to: work.url("empty.npy"))
            try NumpyFile.write(
                .uint8(ShapedArray(shape: [0, 2, 3, 4], repeating: 0)), to: work.url("empty_targets.npy"))
            try expectFailure(
                calibrate("empty.npy", "empty_targets.npy"), mentioning: ["empty.npy", "at least one image"],
                output: "out.safetensors", in: work)
            var onlyBackground = [UInt8](repeating: 0, count: 96)
            for n in 0..<4 { for p in 0..<12 { onlyBackground[n * 24 + p] = 1 } }
            try NumpyFile.write(
                .uint8(ShapedArray(shape: [4, 2, 3, 4], scalars: onlyBackground)), to: work.url("background.npy"))
            // A class without targets is calibrated (always in the set) with one warning line.
            let background = try runKandinsky(calibrate("probs.npy", "background.npy"))
            #expect(background.status == 0, "\(background.stderr)")
            #expect(
                background.stderr
                    == "warning: \(work.path("background.npy")): class 1 has no target pixel; its threshold is +inf (always in the set)\n"
            )
            guard
                case .float32(let backgroundCurves)? = try SafetensorsFile.read(
                    contentsOf: work.url("out.safetensors"))[
                        "nc_curves_class1"]
            else {
                Issue.record("no F32 nc_curves_class1")
                return
            }
            #expect((0..<101).allSatisfy { backgroundCurves[$0, 2, 3] == .infinity })
            try FileManager.default.removeItem(at: work.url("out.safetensors"))

            // A curves file of another image size.
            try Workspace.with(images: 4, height: 5, width: 4) { other in
                let made = try runKandinsky([
                    "calibrate-scores", "--probs", other.path("probs.npy"), "--targets", other.path("targets.npy"),
                    "--method", "image", "--out", work.path("other.safetensors"),
                ])
                #expect(made.status == 0, "\(made.stderr)")
                try expectFailure(
                    [
                        "predict-sets", "--probs", work.path("probs.npy"), "--curves", work.path("other.safetensors"),
                        "--alpha", "0.1", "--out", work.path("sets.npy"),
                    ],
                    mentioning: ["other.safetensors", "curves", "[Q, C, H, W]", "[4, 2, 3, 4]"], output: "sets.npy",
                    in: work)
                try expectFailure(
                    [
                        "evaluate-scores", "--probs", work.path("probs.npy"), "--targets", work.path("targets.npy"),
                        "--curves", work.path("other.safetensors"), "--out", work.path("eval"),
                    ],
                    mentioning: ["other.safetensors", "do not match"], output: "eval", in: work)
                try expectFailure(
                    [
                        "predict-sets", "--probs", work.path("probs.npy"), "--curves", work.path("other.safetensors"),
                        "--alpha", "1.5", "--out", work.path("sets.npy"),
                    ],
                    mentioning: ["--alpha", "(0, 1)"], output: "sets.npy", in: work)
            }
        }
    }
}

import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// Format 3 of the calibrated-model file against format 2: the same curves written both ways
/// read back the same and give the same sets and evaluations; format-2 files still read; damaged
/// format-3 files are refused naming the tensor or key.
@Suite struct FileLayoutTests {
    /// `curves` written in `layout` to `url` and read back.
    static func roundTrip(_ curves: CalibratedCurves, _ layout: CalibratedCurves.FileLayout, at url: URL) throws
        -> CalibratedCurves
    {
        try curves.safetensors(layout: layout).write(to: url)
        return try CalibratedCurves.read(contentsOf: url)
    }

    /// One calibration of each kind a file can hold, on 16 images of 6 × 8 pixels.
    static func calibrations() throws -> [(String, CalibratedCurves)] {
        var generator = SeededGenerator(seed: 21)
        let data = SyntheticData.make(images: 16, height: 6, width: 8, using: &generator)
        let scores = try ScoreStore(probabilities: data.probabilities, targets: data.targets)
        let kmeans = KMeansGrouping(clusterCount: 3, curvePoints: [10, 14, 18])
        let annulus = AnnulusGrouping(classes: [1], curvePoints: [10, 14, 18], theta: [0, 0, 1, 2, 3])
        return [
            ("pixel", try PixelwiseGrouping().calibrate(scores, levelCount: 21)),
            ("image", try ImagewiseGrouping().calibrate(scores, levelCount: 21)),
            ("kmeans", try kmeans.calibrate(scores, levelCount: 21)),
            ("gen-ann", try annulus.calibrate(scores, levelCount: 21)),
            ("kmeans fallback group", try kmeans.calibrate(scores, levelCount: 21, fallback: .group)),
            ("kmeans fallback image", try kmeans.calibrate(scores, levelCount: 21, fallback: .image)),
            ("kmeans linear", try kmeans.calibrate(scores, levelCount: 20, rule: .linear)),
            (
                "gen-ann linear half",
                try annulus.calibrate(
                    ScoreStore(
                        probabilities: data.probabilities, targets: data.targets,
                        precision: .halfProbabilities), levelCount: 20, rule: .linear)
            ),
        ]
    }

    /// Prediction sets, the coverage evaluation and the audit of `curves` on `data`, as text.
    static func outputs(_ curves: CalibratedCurves, _ data: (probabilities: Tensor, targets: ShapedArray<UInt8>)) throws
        -> [String]
    {
        var results: [String] = []
        for alpha in [0.1, 0.3] {
            for indexing in ThresholdIndexing.allCases {
                let sets = try curves.predictionSets(
                    probabilities: data.probabilities, alpha: alpha, indexing: indexing)
                results.append("sets α \(alpha) \(indexing): \(sets.scalars)")
            }
        }
        for c in 0..<curves.classCount {
            let evaluation = try CoverageEvaluation(binCount: 8, classIndex: c).evaluate(
                curves, probabilities: data.probabilities, targets: data.targets)
            results.append(
                "evaluation class \(c): \(evaluation.confidences) \(evaluation.marginalCoverages) \(evaluation.marginalCalibrationError) "
                    + "\(bitsOf(evaluation.pixelwiseCalibrationError)) \(evaluation.meanPixelwiseCalibrationError) \(evaluation.targetCount)"
            )
        }
        let audit = try CoverageAudit().evaluate(curves, probabilities: data.probabilities, targets: data.targets)
        results.append("audit: \(audit)")
        return results
    }

    @Test func bothLayoutsReadBackTheCurvesAndGiveTheSameResults() throws {
        try withScratchDirectory("layout") { directory in
            var generator = SeededGenerator(seed: 22)
            let test = SyntheticData.make(images: 5, height: 6, width: 8, using: &generator)
            for (name, curves) in try Self.calibrations() {
                let compact = try Self.roundTrip(
                    curves, .perClass, at: directory.appendingPathComponent("\(name).safetensors"))
                let dense = try Self.roundTrip(
                    curves, .dense, at: directory.appendingPathComponent("\(name).format2.safetensors"))
                expectSameCurves(compact, curves, "\(name), format 3")
                expectSameCurves(dense, curves, "\(name), format 2")
                #expect(try Self.outputs(compact, test) == Self.outputs(dense, test), "\(name)")
                #expect(try Self.outputs(compact, test) == Self.outputs(curves, test), "\(name)")
            }
        }
    }

    @Test func groupedClassesAreStoredOncePerGroup() throws {
        let byName = Dictionary(uniqueKeysWithValues: try Self.calibrations())
        func tensors(_ name: String) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: byName[name]!.safetensors.tensors.map { ($0.name, $0.array.shape) })
        }
        #expect(tensors("pixel") == ["nc_curves_class0": [21, 6, 8], "nc_curves_class1": [21, 6, 8]])
        #expect(
            tensors("image") == [
                "nc_group_curves_class0": [21, 1], "group_labels_class0": [6, 8],
                "nc_group_curves_class1": [21, 1], "group_labels_class1": [6, 8],
            ])
        let kmeans = byName["kmeans"]!
        #expect(
            tensors("kmeans") == [
                "nc_group_curves_class0": [21, kmeans.groups.groupCounts[0]], "group_labels_class0": [6, 8],
                "nc_group_curves_class1": [21, kmeans.groups.groupCounts[1]], "group_labels_class1": [6, 8],
            ])
        #expect(
            tensors("gen-ann") == [
                "nc_curves_class0": [21, 6, 8], "nc_group_curves_class1": [21, 4], "group_labels_class1": [6, 8],
            ])
        #expect(tensors("kmeans fallback image").keys.sorted() == tensors("kmeans").keys.sorted())
        // The group fallback gives pixels thresholds of their own: those classes stay per pixel.
        let fallback = tensors("kmeans fallback group")
        #expect(fallback["nc_curves_class1"] == [21, 6, 8] && fallback["group_labels_class1"] == [6, 8])
        #expect(fallback["nc_group_curves_class1"] == nil)
        for name in byName.keys {
            let file = byName[name]!.safetensors
            #expect(file.metadata["format_version"] == "3" && file.metadata["mask_class"] == nil, "\(name)")
            #expect(file.tensors.allSatisfy { CalibratedCurves.isCurvesTensor(named: $0.name) }, "\(name)")
        }
    }

    @Test func groupCurvesAreTheCurveEachPixelOfTheGroupHas() throws {
        for (name, curves) in try Self.calibrations() {
            for c in 0..<curves.classCount {
                guard let labels = curves.groups.labels[c] else {
                    #expect(curves.groupCurves(ofClass: c) == nil, "\(name) class \(c) is pixelwise")
                    continue
                }
                guard let perGroup = curves.groupCurves(ofClass: c) else {
                    #expect(name == "kmeans fallback group", "\(name) class \(c) has no group curves")
                    continue
                }
                #expect(perGroup.shape == [curves.levelCount, curves.groups.groupCounts[c]])
                for k in 0..<curves.levelCount {
                    for h in 0..<curves.height {
                        for w in 0..<curves.width {
                            let expected = curves.curves[k, c, h, w]
                            let stored = perGroup[k, Int(labels[h, w])]
                            #expect(expected.bitPattern == stored.bitPattern, "\(name) [\(k), \(c), \(h), \(w)]")
                        }
                    }
                }
            }
        }
        // A group without pixels has the curve of a pool without scores.
        let labels = ShapedArray<Int32>(shape: [1, 2], scalars: [0, 2])
        for (rule, empty) in [(QuantileRule.conformal, Float.infinity), (.linear, .nan)] {
            let curves = CalibratedCurves(
                curves: Tensor(shape: [2, 1, 1, 2], scalars: [0.1, 0.2, 0.3, 0.4]), method: "test",
                calibrationImageCount: 1, rule: rule, groups: PixelGroups(labels: [labels], groupCounts: [3]))
            let perGroup = try #require(curves.groupCurves(ofClass: 0))
            #expect(perGroup.shape == [2, 3])
            #expect(perGroup[0, 0] == 0.1 && perGroup[0, 2] == 0.2 && perGroup[1, 0] == 0.3 && perGroup[1, 2] == 0.4)
            #expect(perGroup[0, 1].bitPattern == empty.bitPattern && perGroup[1, 1].bitPattern == empty.bitPattern)
            let read = try CalibratedCurves(safetensors: curves.safetensors, source: "empty-group.safetensors")
            expectSameCurves(read, curves, "\(rule) with an empty group")
        }
    }

    @Test func moreLevelsThanTheGroupLimitAreStoredPerPixel() throws {
        let q = CalibratedCurves.maximumGroupCurveLevelCount + 1
        let values = (0..<q).flatMap { k in [Float](repeating: Float(k) / Float(q - 1), count: 2) }
        let curves = CalibratedCurves(
            curves: Tensor(shape: [q, 1, 1, 2], scalars: values), method: "test", calibrationImageCount: 1,
            groups: PixelGroups(labels: [ShapedArray(shape: [1, 2], scalars: [0, 0])], groupCounts: [1]))
        let file = curves.safetensors
        #expect(file["nc_curves_class0"]?.shape == [q, 1, 2] && file["nc_group_curves_class0"] == nil)
        expectSameCurves(try CalibratedCurves(safetensors: file, source: "many-levels.safetensors"), curves)
    }

    @Test func formatTwoFilesStillReadAndRewriteTheSame() throws {
        try withScratchDirectory("layout") { directory in
            var generator = SeededGenerator(seed: 23)
            let test = SyntheticData.make(images: 4, height: 8, width: 8, using: &generator)
            for name in FormatTwoFixtures.names {
                let original = try Data(contentsOf: FormatTwoFixtures.url(name))
                let curves = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url(name))
                #expect(curves.curves.shape == [11, 2, 8, 8] && curves.calibrationImageCount == 16, "\(name)")
                // The format-2 writer kept for comparisons writes the file as it was written.
                let rewritten = directory.appendingPathComponent("\(name).format2.safetensors")
                try curves.safetensors(layout: .dense).write(to: rewritten)
                #expect(try Data(contentsOf: rewritten) == original, "\(name): the format-2 writer changed")
                let compact = try Self.roundTrip(
                    curves, .perClass, at: directory.appendingPathComponent("\(name).safetensors"))
                expectSameCurves(compact, curves, name)
                #expect(try Self.outputs(compact, test) == Self.outputs(curves, test), "\(name)")
                let size =
                    try FileManager.default.attributesOfItem(
                        atPath: directory.appendingPathComponent("\(name).safetensors").path)[.size] as? Int
                #expect(
                    (size ?? .max) < original.count,
                    "\(name): format 3 takes \(size ?? -1) bytes, format 2 \(original.count)")
            }
            let kmeans = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url("kmeans-conformal"))
            #expect(kmeans.method == "kmeans" && kmeans.rule == .conformal && kmeans.groups.groupCounts == [4, 4])
            #expect(kmeans.groups.findings["group_split"] == "8 images chose the groups, 8 set the thresholds")
            let annulus = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url("gen-ann-linear"))
            #expect(
                annulus.rule == .linear && annulus.groups.groupCounts == [0, 4]
                    && annulus.groups.findings["theta"] != nil)
            #expect(annulus.groups.labels[0] == nil && !annulus.curves.scalars.contains(.infinity))
            let fallback = try CalibratedCurves.read(contentsOf: FormatTwoFixtures.url("kmeans-fallback-group"))
            #expect(fallback.groupCurves(ofClass: 0) == nil || fallback.groupCurves(ofClass: 1) == nil)
        }
    }

    @Test func formatOneFilesReadAsLinear() throws {
        var file = try SafetensorsFile.read(contentsOf: FormatTwoFixtures.url("gen-ann-linear"))
        file.metadata["quantile"] = nil
        file.metadata["group_image_counts"] = nil
        file.metadata["format_version"] = "1"
        let curves = try CalibratedCurves(safetensors: file, source: "format1.safetensors")
        #expect(curves.rule == .linear && curves.defaultIndexing == .interpolated)
        #expect(curves.groupImageCounts == [nil, nil] && curves.groupSampleCounts[1]?.count == 4)
        file.metadata["format_version"] = nil
        #expect(try CalibratedCurves(safetensors: file, source: "unversioned.safetensors").rule == .linear)
    }

    @Test func curvesTensorNames() {
        for name in [
            "nc_curves", "group_labels", "kandinsky_mask", "nc_curves_class0", "nc_group_curves_class12",
            "group_labels_class3",
        ] {
            #expect(CalibratedCurves.isCurvesTensor(named: name), "\(name)")
        }
        for name in [
            "nc_curves_class", "nc_curves_classA", "group_labels_class-1", "down_sample_layers.0.layers.0.weight",
            "nc_curves_class١",
        ] {
            #expect(!CalibratedCurves.isCurvesTensor(named: name), "\(name)")
        }
        #expect(
            CalibratedCurves.holdsCurves(
                CalibratedCurves(
                    curves: Tensor(shape: [2, 1, 1, 1], repeating: 0), method: "t",
                    calibrationImageCount: 0
                ).safetensors))
        #expect(
            !CalibratedCurves.holdsCurves(
                SafetensorsFile(tensors: [("weight", .float32(Tensor(shape: [1], repeating: 0)))])))
    }

    /// A valid format-3 file (Q = 3, C = 2, 2 × 2 pixels, class 0 pixelwise, class 1 in two
    /// groups), then one damage at a time; each must be refused naming the file and the tensor
    /// or key.
    @Test func damagedFormatThreeFilesAreRefused() throws {
        let good = CalibratedFileTests.smallGroupedCurves()
        let file = good.safetensors
        #expect(
            file.tensors.map(\.name).sorted() == ["group_labels_class1", "nc_curves_class0", "nc_group_curves_class1"])
        #expect(file["nc_group_curves_class1"]?.toTensor().scalars == [0.3, 0.4, 0.5, 0.6, .infinity, 0.7])
        expectSameCurves(try CalibratedCurves(safetensors: file, source: "good.safetensors"), good)

        func refused(
            _ mentions: String..., sourceLocation: SourceLocation = #_sourceLocation,
            damage: (inout SafetensorsFile) -> Void
        ) {
            var damaged = file
            damage(&damaged)
            expectCalibrationError(
                .invalidCurves, mentioningAll: ["bad.safetensors"] + mentions, sourceLocation: sourceLocation
            ) {
                try CalibratedCurves(safetensors: damaged, source: "bad.safetensors")
            }
        }
        let groupCurves: [Float] = [0.3, 0.4, 0.5, 0.6, .infinity, 0.7]
        func grouped(_ change: @escaping (inout [Float]) -> Void) -> (inout SafetensorsFile) -> Void {
            { file in
                var v = groupCurves
                change(&v)
                file["nc_group_curves_class1"] = .float32(Tensor(shape: [3, 2], scalars: v))
            }
        }
        func labelled(_ scalars: [Int32], shape: [Int] = [2, 2]) -> (inout SafetensorsFile) -> Void {
            { $0["group_labels_class1"] = .int32(ShapedArray(shape: shape, scalars: scalars)) }
        }

        refused("format_version", "1, 2 or 3", "4", damage: { $0.metadata["format_version"] = "4" })
        refused("group_counts", "format 3 needs group_counts", damage: { $0.metadata["group_counts"] = nil })
        refused("group_counts", "non-negative", damage: { $0.metadata["group_counts"] = "[0, -2]" })
        refused("group_counts", "one per class", damage: { $0.metadata["group_counts"] = "[]" })
        refused(
            "group_labels_class1", "class 1", "group_counts lists classes 0..<1",
            damage: { $0.metadata["group_counts"] = "[0]" })
        refused("group_labels_class0", "no group_labels_class0", damage: { $0.metadata["group_counts"] = "[2, 2]" })
        refused("nc_group_curves_class1", "[Q, 3]", "[3, 2]", damage: { $0.metadata["group_counts"] = "[0, 3]" })
        refused("group_labels_class1", "1", "outside 0..<1", damage: { $0.metadata["group_counts"] = "[0, 1]" })
        refused(
            "nc_curves_class2", "group_counts lists classes 0..<2",
            damage: { $0["nc_curves_class2"] = .float32(Tensor(shape: [3, 2, 2], repeating: 0.5)) })

        refused(
            "nc_curves_class0", "no nc_curves_class0", "pixelwise class 0", damage: { $0["nc_curves_class0"] = nil })
        refused(
            "nc_curves_class0", "[Q, H, W]", "[3, 4]",
            damage: { $0["nc_curves_class0"] = .float32(Tensor(shape: [3, 4], repeating: 0.5)) })
        refused(
            "nc_curves_class0", "F32", "I32",
            damage: { $0["nc_curves_class0"] = .int32(ShapedArray(shape: [3, 2, 2], repeating: 0)) })
        refused("group_labels_class0", "class 0 is pixelwise", damage: labelledClass0)
        refused(
            "nc_group_curves_class0", "class 0 is pixelwise",
            damage: { $0["nc_group_curves_class0"] = .float32(Tensor(shape: [3, 1], repeating: 0.5)) })
        refused(
            "nc_curves_class0", "NaN", "[1, 0, 1]",
            damage: { file in
                var v = [Float](repeating: 0.5, count: 12)
                v[5] = .nan
                file["nc_curves_class0"] = .float32(Tensor(shape: [3, 2, 2], scalars: v))
            })

        refused("group_labels_class1", "no group_labels_class1", damage: { $0["group_labels_class1"] = nil })
        refused(
            "group_labels_class1", "I32 [H, W]", "F32",
            damage: { $0["group_labels_class1"] = .float32(Tensor(shape: [2, 2], repeating: 0)) })
        refused(
            "group_labels_class1", "H, W = [2, 2]", "nc_curves_class0", "[3, 2]",
            damage: labelled([0, 0, 1, 1, 0, 1], shape: [3, 2]))
        refused("group_labels_class1", "99", "[1, 0]", "0..<2", damage: labelled([0, 0, 99, 1]))
        refused("group_labels_class1", "-1", "outside 0..<2", damage: labelled([0, -1, 1, 1]))

        refused("nc_group_curves_class1", "neither", "nc_curves_class1", damage: { $0["nc_group_curves_class1"] = nil })
        refused(
            "nc_curves_class1", "both",
            damage: { $0["nc_curves_class1"] = .float32(Tensor(shape: [3, 2, 2], repeating: 0.5)) })
        refused(
            "nc_group_curves_class1", "F32",
            damage: { $0["nc_group_curves_class1"] = .int32(ShapedArray(shape: [3, 2], repeating: 0)) })
        refused(
            "nc_group_curves_class1", "Q = 3", "nc_curves_class0", "[4, 2]",
            damage: { $0["nc_group_curves_class1"] = .float32(Tensor(shape: [4, 2], repeating: 0.5)) })
        refused(
            "nc_group_curves_class1", "at most 1000", "1001",
            damage: { $0["nc_group_curves_class1"] = .float32(Tensor(shape: [1001, 2], repeating: 0.5)) })
        refused("nc_group_curves_class1", "NaN", "[0, 1]", damage: grouped { $0[1] = .nan })
        refused("nc_group_curves_class1", "[0, 1]", "1.5", "[1, 0]", damage: grouped { $0[2] = 1.5 })
        refused("nc_group_curves_class1", "[0, 1]", "-inf", damage: grouped { $0[0] = -.infinity })
        refused("nc_group_curves_class1", "decrease", "[2, 1]", damage: grouped { $0[5] = 0.05 })
        refused(
            "nc_group_curves_class1", "+inf", "linear",
            damage: { file in
                file.metadata["quantile"] = "linear"
                file["nc_curves_class0"] = .float32(Tensor(shape: [3, 2, 2], repeating: 0.5))
            })

        refused("curve_levels", "3 levels", damage: { $0.metadata["curve_levels"] = "[0, 1]" })
        refused("group_sample_counts", "class 1", damage: { $0.metadata["group_sample_counts"] = "[null, [5]]" })
        refused("group_image_counts", "non-negative", damage: { $0.metadata["group_image_counts"] = "[null, [3, -4]]" })
        refused("group_image_counts", "class 0", damage: { $0.metadata["group_image_counts"] = "[[1], [3, 4]]" })
        refused("calibration_images", "non-negative integer", damage: { $0.metadata["calibration_images"] = "-1" })
        // Counts of a grouped class may be unknown (null), as curves made without them write.
        var unknown = file
        unknown.metadata["group_sample_counts"] = "[null, null]"
        #expect(
            try CalibratedCurves(safetensors: unknown, source: "unknown.safetensors").groupSampleCounts == [nil, nil])
        refused("precision", "half-probabilities", damage: { $0.metadata["precision"] = "double" })

        // Under the linear rule a group's curve may be NaN throughout (a pool without scores),
        // not in part.
        var linear = file
        linear.metadata["quantile"] = "linear"
        linear["nc_curves_class0"] = .float32(Tensor(shape: [3, 2, 2], repeating: 0.5))
        linear["nc_group_curves_class1"] = .float32(Tensor(shape: [3, 2], scalars: [.nan, 0.4, .nan, 0.6, .nan, 0.7]))
        let read = try CalibratedCurves(safetensors: linear, source: "linear.safetensors")
        #expect(read.rule == .linear && read.curves[2, 1, 0, 1].isNaN && read.curves[2, 1, 1, 1] == 0.7)
        linear["nc_group_curves_class1"] = .float32(Tensor(shape: [3, 2], scalars: [.nan, 0.4, 0.5, 0.6, .nan, 0.7]))
        expectCalibrationError(
            .invalidCurves, mentioning: "linear.safetensors", "nc_group_curves_class1", "NaN", "[1, 0]"
        ) {
            try CalibratedCurves(safetensors: linear, source: "linear.safetensors")
        }
    }

    func labelledClass0(_ file: inout SafetensorsFile) {
        file["group_labels_class0"] = .int32(ShapedArray(shape: [2, 2], repeating: 0))
    }
}

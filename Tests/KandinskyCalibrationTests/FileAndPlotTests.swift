import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

@Suite struct CalibratedFileTests {
    @Test func roundTripsCurvesGroupsAndMetadata() throws {
        var generator = SeededGenerator(seed: 9)
        let data = SyntheticData.make(images: 10, height: 6, width: 7, using: &generator)
        let curves = try Calibrator(
            grouping: AnnulusGrouping(classes: [1], curvePoints: [10, 12, 15, 18], theta: [0, 0, 1, 2, 3]),
            levelCount: 20, rule: .linear
        )
        .calibrate(probabilities: data.probabilities, targets: data.targets, precision: .halfProbabilities)
        let file = curves.safetensors
        #expect(file["nc_curves_class0"]?.shape == [20, 6, 7] && file["nc_curves_class0"]?.elementType == .float32)
        #expect(
            file["nc_group_curves_class1"]?.shape == [20, 4] && file["nc_group_curves_class1"]?.elementType == .float32)
        #expect(file["group_labels_class1"]?.shape == [6, 7] && file["group_labels_class1"]?.elementType == .int32)
        #expect(file.tensors.count == 3)
        #expect(file.metadata["format_version"] == "3")
        #expect(file.metadata["quantile"] == "linear")
        #expect(file.metadata["method"] == "gen-ann")
        #expect(file.metadata["calibration_images"] == "10")
        #expect(file.metadata["precision"] == "half-probabilities")
        #expect(file.metadata["theta"] == "[0.0, 0.0, 1.0, 2.0, 3.0]")
        #expect(file.metadata["objective"] != nil)
        #expect(file.metadata["mask_class"] == nil)
        #expect(file.metadata["group_counts"] == "[0,4]")
        let parameters = try #require(file.metadata["parameters"])
        #expect(parameters.contains("\"classes\":[1]") && parameters.contains("\"populationSize\":10"))
        let levels = try JSONDecoder().decode([Double].self, from: Data(file.metadata["curve_levels"]!.utf8))
        #expect(levels.count == 20 && levels[19] == 1 && levels[1] == 1.0 / 19)
        let counts = try JSONDecoder().decode([[Int]?].self, from: Data(file.metadata["group_sample_counts"]!.utf8))
        #expect(counts[0] == nil && counts[1]?.count == 4)

        try withScratchDirectory("calibration") { directory in
            let url = directory.appendingPathComponent("cmodel.safetensors")
            try curves.write(to: url)
            let read = try CalibratedCurves.read(contentsOf: url)
            expectSameCurves(read, curves)
            #expect(
                read.method == "gen-ann" && read.precision == .halfProbabilities && read.calibrationImageCount == 10)

            // Format 2, still written for comparisons: every curve of every pixel in one tensor.
            let dense = curves.safetensors(layout: .dense)
            #expect(dense["nc_curves"]?.shape == [20, 2, 6, 7] && dense["nc_curves"]?.elementType == .float32)
            #expect(dense["kandinsky_mask"]?.shape == [6, 7] && dense["kandinsky_mask"]?.elementType == .int32)
            #expect(dense["group_labels"]?.shape == [2, 6, 7])
            #expect(dense.metadata["format_version"] == "2" && dense.metadata["mask_class"] == "1")
            expectSameCurves(try CalibratedCurves(safetensors: dense, source: "dense.safetensors"), curves)
        }
    }

    /// Curves built without per-group counts (nil for a grouped class: unknown) are written as
    /// null and read back as unknown.
    @Test func unknownGroupCountsRoundTrip() throws {
        let labels = ShapedArray<Int32>(shape: [1, 2], scalars: [0, 1])
        let curves = CalibratedCurves(
            curves: Tensor(shape: [2, 1, 1, 2], scalars: [0.1, 0.2, 0.3, 0.4]), method: "test",
            calibrationImageCount: 3, groups: PixelGroups(labels: [labels], groupCounts: [2]))
        #expect(curves.safetensors.metadata["group_sample_counts"] == "[null]")
        let read = try CalibratedCurves(safetensors: curves.safetensors, source: "unknown.safetensors")
        #expect(read.groupSampleCounts == [nil] && read.groupImageCounts == [nil] && read.groups == curves.groups)
    }

    @Test func readsCurvesWrittenByOtherTools() throws {
        let file = SafetensorsFile(tensors: [
            ("nc_curves", .float16(HalfTensor(shape: [3, 1, 1, 2], scalars: [0, 0.25, 0.5, 0.5, 1, 1]))),
            ("weights", .float32(Tensor(shape: [2], repeating: 1))),
        ])
        let curves = try CalibratedCurves(safetensors: file, source: "other.safetensors")
        #expect(curves.curves.scalars == [0, 0.25, 0.5, 0.5, 1, 1])
        #expect(curves.method == "unknown" && curves.groups == .pixelwise(classCount: 1))
    }

    @Test func malformedCurvesFilesAreNamed() {
        expectCalibrationError(.invalidCurves, mentioning: "bad.safetensors", "nc_curves", "no nc_curves") {
            try CalibratedCurves(safetensors: SafetensorsFile(), source: "bad.safetensors")
        }
        expectCalibrationError(.invalidCurves, mentioning: "[Q, C, H, W]", "[3, 4]") {
            try CalibratedCurves(
                safetensors: SafetensorsFile(tensors: [("nc_curves", .float32(Tensor(shape: [3, 4], repeating: 0)))]),
                source: "x")
        }
        expectCalibrationError(.invalidCurves, mentioning: "I32") {
            try CalibratedCurves(
                safetensors: SafetensorsFile(tensors: [
                    ("nc_curves", .int32(ShapedArray(shape: [2, 1, 1, 1], repeating: 0)))
                ]), source: "x")
        }
        expectCalibrationError(.unreadableFile, mentioning: "missing.safetensors") {
            try CalibratedCurves.read(contentsOf: URL(fileURLWithPath: "missing.safetensors"))
        }
    }

    /// Conformal curves with Q = 3, C = 2 and 2 × 2 pixels, class 0 pixelwise and class 1 in two
    /// groups (the top and bottom rows), with per-group counts: the valid file the damage tests start from.
    static func smallGroupedCurves() -> CalibratedCurves {
        let labels = ShapedArray<Int32>(shape: [2, 2], scalars: [0, 0, 1, 1])
        let values: [Float] = [
            0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4,
            0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.6, 0.6,
            0.9, .infinity, 1, 1, .infinity, .infinity, 0.7, 0.7,
        ]
        return CalibratedCurves(
            curves: Tensor(shape: [3, 2, 2, 2], scalars: values), method: "test", calibrationImageCount: 4,
            rule: .conformal, groups: PixelGroups(labels: [nil, labels], groupCounts: [0, 2]),
            groupSampleCounts: [nil, [5, 6]], groupImageCounts: [nil, [3, 4]])
    }

    /// A valid grouped conformal file of format 2 (Q = 3, C = 2, 2 × 2 pixels, class 1 in two
    /// groups), then one damage at a time; each must be refused naming the file and the field.
    /// (Format 3's damages are in `FileLayoutTests`.)
    @Test func damagedFormatTwoFilesAreRefused() throws {
        let good = CalibratedFileTests.smallGroupedCurves()
        let values = good.curves.scalars
        let read = try CalibratedCurves(safetensors: good.safetensors(layout: .dense), source: "good.safetensors")
        #expect(read.rule == .conformal && read.groupImageCounts == [nil, [3, 4]] && read.calibrationImageCount == 4)

        func refused(
            _ mentions: String..., sourceLocation: SourceLocation = #_sourceLocation,
            damage: (inout SafetensorsFile) -> Void
        ) {
            var file = good.safetensors(layout: .dense)
            damage(&file)
            expectCalibrationError(
                .invalidCurves, mentioningAll: ["bad.safetensors"] + mentions, sourceLocation: sourceLocation
            ) {
                try CalibratedCurves(safetensors: file, source: "bad.safetensors")
            }
        }
        func curves(_ change: @escaping (inout [Float]) -> Void) -> (inout SafetensorsFile) -> Void {
            { file in
                var v = values
                change(&v)
                file["nc_curves"] = .float32(Tensor(shape: [3, 2, 2, 2], scalars: v))
            }
        }
        refused("nc_curves", "NaN", "[1, 0, 0, 0]", damage: curves { $0[8] = .nan })
        refused("nc_curves", "[0, 1]", "-0.5", damage: curves { $0[0] = -0.5 })
        refused("nc_curves", "[0, 1]", "1.5", damage: curves { $0[8] = 1.5 })
        refused("nc_curves", "decrease", damage: curves { $0[16] = 0.05 })
        refused("nc_curves", "+inf", "linear", damage: { $0.metadata["quantile"] = "linear" })
        refused("quantile", "conformal or linear", damage: { $0.metadata["quantile"] = "median" })
        refused("curve_levels", "increase", damage: { $0.metadata["curve_levels"] = "[1, 0.5, 0]" })
        refused("curve_levels", "3 levels", damage: { $0.metadata["curve_levels"] = "[0, 1]" })
        refused("curve_levels", "1/2", damage: { $0.metadata["curve_levels"] = "[0, 0.25, 1]" })
        refused(
            "group_labels", "99", "0..<2",
            damage: { file in
                file["group_labels"] = .int32(ShapedArray(shape: [2, 2, 2], scalars: [-1, -1, -1, -1, 0, 99, 1, 1]))
            })
        refused(
            "group_labels", "mixes",
            damage: { file in
                file["group_labels"] = .int32(ShapedArray(shape: [2, 2, 2], scalars: [-1, 0, -1, -1, 0, 0, 1, 1]))
            })
        refused(
            "group_labels", "[2, 2, 2]",
            damage: { $0["group_labels"] = .int32(ShapedArray(shape: [2, 4], repeating: 0)) })
        refused("group_counts", "2 group counts", damage: { $0.metadata["group_counts"] = "[2]" })
        refused("group_labels", "pixelwise", damage: { $0.metadata["group_counts"] = "[3, 2]" })
        refused("group_sample_counts", "class 1", damage: { $0.metadata["group_sample_counts"] = "[null, [5]]" })
        refused("group_image_counts", "non-negative", damage: { $0.metadata["group_image_counts"] = "[null, [3, -4]]" })
        refused("group_image_counts", "class 0", damage: { $0.metadata["group_image_counts"] = "[[1], [3, 4]]" })
        refused("calibration_images", "non-negative integer", damage: { $0.metadata["calibration_images"] = "many" })
        refused(
            "kandinsky_mask", "[2, 2]",
            damage: { $0["kandinsky_mask"] = .int32(ShapedArray(shape: [3, 2], repeating: 0)) })

        // Linear files may hold NaN for a whole curve (a pool without scores), not inside one.
        var linear = values.map { $0 == .infinity ? 1 : $0 }
        for k in 0..<3 { linear[k * 8 + 1] = .nan }
        var file = good.safetensors(layout: .dense)
        file.metadata["quantile"] = "linear"
        file["nc_curves"] = .float32(Tensor(shape: [3, 2, 2, 2], scalars: linear))
        #expect(try CalibratedCurves(safetensors: file, source: "linear.safetensors").rule == .linear)
        linear[1] = 0.1
        file["nc_curves"] = .float32(Tensor(shape: [3, 2, 2, 2], scalars: linear))
        expectCalibrationError(.invalidCurves, mentioning: "nc_curves", "NaN") {
            try CalibratedCurves(safetensors: file, source: "linear.safetensors")
        }
    }
}

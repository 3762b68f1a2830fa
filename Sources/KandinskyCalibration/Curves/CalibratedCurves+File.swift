import Foundation
import KandinskyCore

/// The calibrated-model file: safetensors with
/// - `nc_curves` F32 [Q, C, H, W], the curves;
/// - `kandinsky_mask` I32 [H, W], the group ids of the first grouped class (its index in the
///   `mask_class` metadata), present when a strategy grouped pixels;
/// - `group_labels` I32 [C, H, W], the group ids of every class, −1 for pixelwise classes, present
///   when a strategy grouped pixels;
/// and metadata `format_version`, `method`, `parameters` (JSON), `curve_levels` (JSON array),
/// `calibration_images`, `precision`, `quantile` (the ``QuantileRule``: `conformal` or
/// `linear`; files without it were written by the linear rule), `group_counts` (JSON array per
/// class), `group_sample_counts` (JSON: per class an array of pooled score counts per group, or
/// null), `group_image_counts` (JSON, the same layout: threshold-setting images per group),
/// plus the strategy's findings (`theta` and `objective` for `gen-ann`). A model's weights may
/// share the file; other tensors are ignored when reading.
extension CalibratedCurves {
    /// The version written to `format_version`.
    public static let formatVersion = "2"

    static let standardMetadataKeys: Set<String> = [
        "format_version", "method", "parameters", "curve_levels", "calibration_images", "precision",
        "group_counts", "group_sample_counts", "mask_class", "quantile", "group_image_counts",
    ]

    /// The curves as safetensors tensors and metadata.
    public var safetensors: SafetensorsFile {
        var file = SafetensorsFile()
        file["nc_curves"] = .float32(curves)
        if let maskClass = groups.labels.firstIndex(where: { $0 != nil }) {
            file["kandinsky_mask"] = .int32(groups.labels[maskClass]!)
            let all = ShapedArray<Int32>(shape: [classCount, height, width]) { out in
                for c in 0..<classCount {
                    let plane = height * width
                    if let labels = groups.labels[c] {
                        labels.withUnsafeBufferPointer { l in (out.baseAddress! + c * plane).update(from: l.baseAddress!, count: plane) }
                    } else {
                        (out.baseAddress! + c * plane).update(repeating: -1, count: plane)
                    }
                }
            }
            file["group_labels"] = .int32(all)
            file.metadata["mask_class"] = "\(maskClass)"
        }
        for (key, value) in groups.findings { file.metadata[key] = value }
        file.metadata["format_version"] = Self.formatVersion
        file.metadata["method"] = method
        file.metadata["parameters"] = parameters
        file.metadata["curve_levels"] = Self.jsonString(levels)
        file.metadata["calibration_images"] = "\(calibrationImageCount)"
        file.metadata["precision"] = precision.rawValue
        file.metadata["group_counts"] = Self.jsonString(groups.groupCounts)
        file.metadata["group_sample_counts"] = Self.jsonString(groupSampleCounts)
        file.metadata["group_image_counts"] = Self.jsonString(groupImageCounts)
        file.metadata["quantile"] = rule.rawValue
        return file
    }

    /// Curves from a calibrated-model file's contents.
    ///
    /// Only `nc_curves` is required (F32, F16 or F64, rank 4, Q ≥ 2), so curves made by other
    /// tools can be used; missing metadata takes neutral defaults (method `unknown`, precision
    /// `float`, pixelwise groups).
    ///
    /// - Throws: ``CalibrationError/Kind/invalidCurves`` naming `source` and the bad field.
    public init(safetensors file: SafetensorsFile, source: String) throws(CalibrationError) {
        guard let stored = file["nc_curves"] else {
            throw .invalidCurves(source: source, field: "nc_curves", problem: "the file has no nc_curves tensor (tensors: \(file.tensors.map(\.name)))")
        }
        let curves: Tensor
        switch stored {
        case .float32(let a): curves = a
        case .float16, .float64: curves = stored.toTensor()
        default:
            throw .invalidCurves(source: source, field: "nc_curves", problem: "expected F32 curves, found \(stored.elementType.rawValue)")
        }
        guard curves.rank == 4, curves.shape[0] >= 2, curves.shape[1...].allSatisfy({ $0 > 0 }) else {
            throw .invalidCurves(source: source, field: "nc_curves", problem: "expected [Q, C, H, W] with Q ≥ 2, found \(curves.shape)")
        }
        let (classCount, height, width) = (curves.shape[1], curves.shape[2], curves.shape[3])
        var groups = PixelGroups.pixelwise(classCount: classCount)
        if let labelsArray = file["group_labels"] {
            guard case .int32(let labels) = labelsArray, labels.shape == [classCount, height, width] else {
                throw .invalidCurves(source: source, field: "group_labels",
                                     problem: "expected I32 [\(classCount), \(height), \(width)], found \(labelsArray.elementType.rawValue) \(labelsArray.shape)")
            }
            var maps: [ShapedArray<Int32>?] = []
            var counts: [Int] = []
            for c in 0..<classCount {
                let plane = labels[leading: c]
                let maximum = plane.withUnsafeBufferPointer { $0.max() ?? -1 }
                let minimum = plane.withUnsafeBufferPointer { $0.min() ?? -1 }
                if maximum < 0 {
                    maps.append(nil); counts.append(0)
                } else {
                    guard minimum >= 0 else {
                        throw .invalidCurves(source: source, field: "group_labels", problem: "class \(c) mixes group ids and −1")
                    }
                    maps.append(plane); counts.append(Int(maximum) + 1)
                }
            }
            if let text = file.metadata["group_counts"] {
                guard let stored = Self.decode([Int].self, text), stored.count == classCount else {
                    throw .invalidCurves(source: source, field: "group_counts",
                                         problem: "expected a JSON array of \(classCount) group counts (one per class), found \(text.prefix(80))")
                }
                for c in 0..<classCount where stored[c] < counts[c] || (counts[c] > 0) != (stored[c] > 0) {
                    throw .invalidCurves(source: source, field: "group_labels",
                                         problem: counts[c] == 0
                                            ? "class \(c) is pixelwise (labels −1) but group_counts gives it \(stored[c]) groups"
                                            : "class \(c) has group label \(counts[c] - 1), outside 0..<\(stored[c]) (group_counts)")
                }
                counts = stored
            }
            groups = PixelGroups(labels: maps, groupCounts: counts)
        }
        for (key, value) in file.metadata where !Self.standardMetadataKeys.contains(key) { groups.findings[key] = value }
        var precision = ScorePrecision.float
        if let name = file.metadata["precision"] {
            guard let parsed = ScorePrecision(rawValue: name) else {
                throw .invalidCurves(source: source, field: "precision", problem: "expected float or half-probabilities, found \(name)")
            }
            precision = parsed
        }
        var rule = QuantileRule.linear
        if let name = file.metadata["quantile"] {
            guard let parsed = QuantileRule(rawValue: name) else {
                throw .invalidCurves(source: source, field: "quantile", problem: "expected conformal or linear, found \(name)")
            }
            rule = parsed
        }
        let sampleCounts = try Self.perGroupCounts(file, key: "group_sample_counts", groups: groups, source: source)
        let imageCounts = try Self.perGroupCounts(file, key: "group_image_counts", groups: groups, source: source)
        var calibrationImages = 0
        if let text = file.metadata["calibration_images"] {
            guard let value = Int(text), value >= 0 else {
                throw .invalidCurves(source: source, field: "calibration_images", problem: "expected a non-negative integer, found \(text.prefix(80))")
            }
            calibrationImages = value
        }
        if let mask = file["kandinsky_mask"], mask.shape != [height, width] {
            throw .invalidCurves(source: source, field: "kandinsky_mask", problem: "expected [\(height), \(width)] (the curves' H, W), found \(mask.shape)")
        }
        try Self.checkLevels(file.metadata["curve_levels"], levelCount: curves.shape[0], source: source)
        try Self.checkValues(curves, rule: rule, source: source)
        self.init(curves: curves, method: file.metadata["method"] ?? "unknown", parameters: file.metadata["parameters"] ?? "{}",
                  calibrationImageCount: calibrationImages, precision: precision, rule: rule, groups: groups,
                  groupSampleCounts: sampleCounts, groupImageCounts: imageCounts)
    }

    /// A per-class, per-group count array of the metadata (`group_sample_counts`,
    /// `group_image_counts`): null or one entry per class, null for pixelwise classes and for
    /// grouped ones whose counts are unknown, else an array of G_c non-negative counts; nil when
    /// the key is absent.
    static func perGroupCounts(_ file: SafetensorsFile, key: String, groups: PixelGroups,
                               source: String) throws(CalibrationError) -> [[Int]?]? {
        guard let text = file.metadata[key], text != "null" else { return nil }
        let expected = "a JSON array of \(groups.groupCounts.count) entries, per class null (pixelwise or unknown) or its \(groups.groupCounts) non-negative counts"
        guard let counts = decode([[Int]?].self, text), counts.count == groups.groupCounts.count else {
            throw .invalidCurves(source: source, field: key, problem: "expected \(expected), found \(text.prefix(80))")
        }
        for (c, entry) in counts.enumerated() {
            let fits = entry.map { $0.count == groups.groupCounts[c] && $0.allSatisfy { $0 >= 0 } } ?? true
            guard fits else {
                throw .invalidCurves(source: source, field: key, problem: "class \(c): expected \(expected), found \(text.prefix(80))")
            }
        }
        return counts
    }

    /// `curve_levels`, when present: Q values k/(Q − 1), ascending (the curves are read at
    /// those levels, so a file that claims others is refused).
    static func checkLevels(_ text: String?, levelCount q: Int, source: String) throws(CalibrationError) {
        guard let text else { return }
        guard let levels = decode([Double].self, text), levels.count == q else {
            throw .invalidCurves(source: source, field: "curve_levels", problem: "expected a JSON array of \(q) levels (the curves' Q), found \(text.prefix(80))")
        }
        for k in 1..<q where !(levels[k] > levels[k - 1]) {
            throw .invalidCurves(source: source, field: "curve_levels", problem: "levels must increase, found \(levels[k - 1]) then \(levels[k]) at index \(k)")
        }
        for k in 0..<q where abs(levels[k] - Double(k) / Double(q - 1)) > 1e-9 {
            throw .invalidCurves(source: source, field: "curve_levels", problem: "expected level \(k) to be \(k)/\(q - 1), found \(levels[k])")
        }
    }

    /// Curve values: finite ones in [0, 1] (scores 1 − p); +∞ only under the conformal rule; NaN
    /// only under the linear rule and then at every level of a curve (a pool without scores);
    /// never decreasing in the level.
    ///
    /// - Complexity: O(Q·C·H·W).
    static func checkValues(_ curves: Tensor, rule: QuantileRule, source: String) throws(CalibrationError) {
        let q = curves.shape[0], plane = curves.count / q
        let shape = curves.shape
        let problem: (Int, String)? = curves.withUnsafeBufferPointer { c in
            for i in 0..<plane {
                let allNaN = c[i].isNaN
                for k in 0..<q {
                    let value = c[k * plane + i], index = k * plane + i
                    if value.isNaN {
                        if rule == .conformal { return (index, "NaN is not a conformal threshold (a pool without scores has +inf)") }
                        if !allNaN { return (index, "NaN inside a curve that has values at other levels") }
                        continue
                    }
                    if allNaN { return (index, "a value inside a curve that is NaN at level 0") }
                    if value == .infinity {
                        if rule == .linear { return (index, "+inf is not a linear-rule value (quantile: linear)") }
                    } else if !(value >= 0 && value <= 1) {
                        return (index, "expected a score threshold in [0, 1], found \(value)")
                    }
                    if k > 0 && value < c[(k - 1) * plane + i] {
                        return (index, "curves must not decrease in the level, found \(c[(k - 1) * plane + i]) then \(value)")
                    }
                }
            }
            return nil
        }
        if let (index, message) = problem {
            throw .invalidCurves(source: source, field: "nc_curves", problem: "\(message) at index \(InputValidation.multiIndex(index, shape: shape))")
        }
    }

    /// Writes the calibrated-model file atomically.
    public func write(to url: URL) throws(CalibrationError) {
        do { try safetensors.write(to: url) } catch { throw .file(error) }
    }

    /// Reads a calibrated-model file.
    public static func read(contentsOf url: URL) throws(CalibrationError) -> CalibratedCurves {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.read(contentsOf: url) } catch { throw .file(error) }
        return try CalibratedCurves(safetensors: file, source: url.path)
    }

    static func jsonString(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(json.utf8))
    }
}

import Foundation
import KandinskyCore

/// The calibrated-model file: safetensors holding the curves, the groups and their provenance.
///
/// Format 3, the one written, stores each class c (0 ..< C) on its own:
/// - a pixelwise class: `nc_curves_class{c}` F32 [Q, H, W];
/// - a grouped class: `group_labels_class{c}` I32 [H, W], the group id 0 ..< G_c of every pixel,
///   and `nc_group_curves_class{c}` F32 [Q, G_c], the curve of each group; or, when some pixel
///   has a curve other than its group's (``ThresholdFallback/group``) or Q exceeds
///   ``maximumGroupCurveLevelCount``, `nc_curves_class{c}` F32 [Q, H, W] beside the labels.
///
/// Formats 1 and 2, still read, store `nc_curves` F32 [Q, C, H, W], and for grouped strategies
/// `group_labels` I32 [C, H, W] (−1 for pixelwise classes) and `kandinsky_mask` I32 [H, W] (the
/// labels of the first grouped class, named by `mask_class`).
///
/// Metadata of every format: `format_version`, `method`, `parameters` (JSON), `curve_levels`
/// (JSON array), `calibration_images`, `precision`, `quantile` (the ``QuantileRule``: `conformal`
/// or `linear`; files without it were written by the linear rule), `group_counts` (JSON array
/// per class, 0 for pixelwise; required by format 3), `group_sample_counts` (JSON: per class an
/// array of pooled score counts per group, or null), `group_image_counts` (JSON, the same
/// layout: threshold-setting images per group), plus the strategy's findings, each under its
/// name as its ``Finding/metadataValue`` (`theta` and `objective` for `gen-ann`); reading keeps
/// every other key as a finding (``Finding/init(metadataValue:)``). A model's weights may share
/// the file; other tensors are ignored when reading.
///
/// In memory the curves stay dense (``CalibratedCurves/curves``, [Q, C, H, W]): reading a
/// format-3 file spreads each group's curve over its pixels, writing one finds them again.
extension CalibratedCurves {
    /// The version written to `format_version`.
    public static let formatVersion = "3"

    /// The most curve levels Q of a class stored as group curves [Q, G]. Reading such a class
    /// makes Q values of every one of its pixels from one stored label, so a file claiming more
    /// levels is refused rather than expanded; the writer stores a class with more as
    /// [Q, H, W], which needs no expansion. 1,000 is also the most the tool and the
    /// configuration calibrate.
    public static let maximumGroupCurveLevelCount = 1000

    /// How the curves are laid out in a file.
    package enum FileLayout: Sendable {
        /// Format 3: one tensor per class, group curves [Q, G] for grouped classes (what
        /// ``CalibratedCurves/safetensors`` writes).
        case perClass
        /// Format 2: `nc_curves` [Q, C, H, W] with `group_labels` and `kandinsky_mask`, as files
        /// were written before format 3; kept to check that both layouts read the same.
        case dense
    }

    static let standardMetadataKeys: Set<String> = [
        "format_version", "method", "parameters", "curve_levels", "calibration_images", "precision",
        "group_counts", "group_sample_counts", "mask_class", "quantile", "group_image_counts",
    ]

    /// Whether `name` is a tensor of the curves in some format (`nc_curves`, `group_labels`,
    /// `kandinsky_mask`, `nc_curves_class{c}`, `nc_group_curves_class{c}`,
    /// `group_labels_class{c}`) rather than, say, a network weight sharing the file.
    package static func isCurvesTensor(named name: String) -> Bool {
        ["nc_curves", "group_labels", "kandinsky_mask"].contains(name) || classIndex(ofTensorNamed: name) != nil
    }

    /// c of a format-3 tensor name (`nc_curves_class{c}`, `nc_group_curves_class{c}`,
    /// `group_labels_class{c}`, c in decimal digits), or nil.
    static func classIndex(ofTensorNamed name: String) -> Int? {
        for prefix in ["nc_curves_class", "nc_group_curves_class", "group_labels_class"] where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits) ?? Int.max
        }
        return nil
    }

    /// Whether `file` holds calibrated curves in some format (a calibrated model rather than a
    /// network's weights or a training checkpoint).
    package static func holdsCurves(_ file: SafetensorsFile) -> Bool {
        file.tensors.contains { isCurvesTensor(named: $0.name) }
    }

    /// The curves as safetensors tensors and metadata, in format 3.
    ///
    /// - Complexity: O(Q·C·H·W); the tensors of pixelwise classes are copies of their curves
    ///   (a class is not contiguous in [Q, C, H, W]), those of grouped classes are [Q, G].
    package var safetensors: SafetensorsFile { safetensors(layout: .perClass) }

    /// The curves as safetensors tensors and metadata in `layout`.
    package func safetensors(layout: FileLayout) -> SafetensorsFile {
        var file: SafetensorsFile
        switch layout {
        case .perClass:
            file = perClassTensors()
            file.metadata["format_version"] = Self.formatVersion
        case .dense:
            file = denseTensors()
            file.metadata["format_version"] = "2"
        }
        for (key, value) in groups.findings { file.metadata[key] = value.metadataValue }
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
    /// A format-3 file needs `group_counts` and each class's tensors; its group curves are
    /// spread into the dense ``curves``, which takes Q·C·H·W·4 bytes however small the file
    /// (62 MB at 240 × 320 pixels, Q = 101, C = 2). A file of format 1 or 2, or without
    /// `format_version`, needs only `nc_curves` (F32, F16 or F64, rank 4, Q ≥ 2), so curves
    /// made by other tools can be used. Missing metadata takes neutral defaults (method
    /// `unknown`, precision `float`, rule `linear`, pixelwise groups).
    ///
    /// - Throws: ``CalibrationError/Kind/invalidCurves`` naming `source` and the bad tensor or
    ///   key.
    /// - Complexity: O(Q·C·H·W).
    package init(safetensors file: SafetensorsFile, source: String) throws(CalibrationError) {
        let precision = try Self.metadataCase(
            file, key: "precision", default: ScorePrecision.float, expected: "float or half-probabilities",
            source: source)
        let rule = try Self.metadataCase(
            file, key: "quantile", default: QuantileRule.linear, expected: "conformal or linear", source: source)
        var calibrationImages = 0
        if let text = file.metadata["calibration_images"] {
            guard let value = Int(text), value >= 0 else {
                throw .invalidCurves(
                    source: source, field: "calibration_images",
                    problem: "expected a non-negative integer, found \(text.prefix(80))")
            }
            calibrationImages = value
        }
        let curves: Tensor
        var groups: PixelGroups
        switch file.metadata["format_version"] {
        case nil, "1", "2":
            (curves, groups) = try Self.readDense(file, rule: rule, source: source)
        case Self.formatVersion:
            (curves, groups) = try Self.readPerClass(file, rule: rule, source: source)
        case let other?:
            throw .invalidCurves(
                source: source, field: "format_version",
                problem: "expected 1, 2 or 3 (the versions this reader knows), found \(other.prefix(80))")
        }
        for (key, value) in file.metadata where !Self.standardMetadataKeys.contains(key) {
            groups.findings[key] = Finding(metadataValue: value)
        }
        let sampleCounts = try Self.perGroupCounts(file, key: "group_sample_counts", groups: groups, source: source)
        let imageCounts = try Self.perGroupCounts(file, key: "group_image_counts", groups: groups, source: source)
        try Self.checkLevels(file.metadata["curve_levels"], levelCount: curves.shape[0], source: source)
        self.init(
            curves: curves, method: file.metadata["method"] ?? "unknown",
            parameters: file.metadata["parameters"] ?? "{}",
            calibrationImageCount: calibrationImages, precision: precision, rule: rule, groups: groups,
            groupSampleCounts: sampleCounts, groupImageCounts: imageCounts)
    }

    /// The metadata value of `key` as a case of `Value`, `fallback` when the key is missing, or an
    /// error naming `key` and the values it takes (`expected`).
    static func metadataCase<Value: RawRepresentable>(
        _ file: SafetensorsFile, key: String, default fallback: Value, expected: String, source: String
    ) throws(CalibrationError) -> Value where Value.RawValue == String {
        guard let name = file.metadata[key] else { return fallback }
        guard let parsed = Value(rawValue: name) else {
            throw .invalidCurves(source: source, field: key, problem: "expected \(expected), found \(name)")
        }
        return parsed
    }

    /// A curves tensor as F32 (F16 and F64 widened), or an error naming `field`.
    static func floatCurves(_ stored: AnyShapedArray, field: String, source: String) throws(CalibrationError) -> Tensor
    {
        switch stored {
        case .float32(let a): return a
        case .float16, .float64: return stored.toTensor()
        default:
            throw .invalidCurves(
                source: source, field: field, problem: "expected F32 curves, found \(stored.elementType.rawValue)")
        }
    }

    /// A per-class, per-group count array of the metadata (`group_sample_counts`,
    /// `group_image_counts`): null or one entry per class, null for pixelwise classes and for
    /// grouped ones whose counts are unknown, else an array of G_c non-negative counts; nil when
    /// the key is absent.
    static func perGroupCounts(
        _ file: SafetensorsFile, key: String, groups: PixelGroups,
        source: String
    ) throws(CalibrationError) -> [[Int]?]? {
        guard let text = file.metadata[key], text != "null" else { return nil }
        let expected =
            "a JSON array of \(groups.groupCounts.count) entries, per class null (pixelwise or unknown) or its \(groups.groupCounts) non-negative counts"
        guard case .array(let entries)? = JSONValue(parsing: text), entries.count == groups.groupCounts.count,
            let counts = Self.optionalIntegerLists(entries)
        else {
            throw .invalidCurves(source: source, field: key, problem: "expected \(expected), found \(text.prefix(80))")
        }
        for (c, entry) in counts.enumerated() {
            let fits = entry.map { $0.count == groups.groupCounts[c] && $0.allSatisfy { $0 >= 0 } } ?? true
            guard fits else {
                throw .invalidCurves(
                    source: source, field: key, problem: "class \(c): expected \(expected), found \(text.prefix(80))")
            }
        }
        return counts
    }

    /// `curve_levels`, when present: Q values k/(Q − 1), ascending (the curves are read at
    /// those levels, so a file that claims others is refused).
    static func checkLevels(_ text: String?, levelCount q: Int, source: String) throws(CalibrationError) {
        guard let text else { return }
        guard case .array(let items)? = JSONValue(parsing: text), items.count == q,
            case let levels = items.compactMap(\.numberValue), levels.count == q
        else {
            throw .invalidCurves(
                source: source, field: "curve_levels",
                problem: "expected a JSON array of \(q) levels (the curves' Q), found \(text.prefix(80))")
        }
        for k in 1..<q where !(levels[k] > levels[k - 1]) {
            throw .invalidCurves(
                source: source, field: "curve_levels",
                problem: "levels must increase, found \(levels[k - 1]) then \(levels[k]) at index \(k)")
        }
        for k in 0..<q where abs(levels[k] - Double(k) / Double(q - 1)) > 1e-9 {
            throw .invalidCurves(
                source: source, field: "curve_levels",
                problem: "expected level \(k) to be \(k)/\(q - 1), found \(levels[k])")
        }
    }

    /// Curve values, any shape [Q, …] (curve i is the values at flat index k·(count/Q) + i):
    /// finite ones in [0, 1] (scores 1 − p); +∞ only under the conformal rule; NaN only under the
    /// linear rule and then at every level of a curve (a pool without scores); never decreasing
    /// in the level. Errors name `field` and the index in the tensor's shape.
    ///
    /// - Complexity: O(`curves.count`).
    static func checkValues(_ curves: Tensor, rule: QuantileRule, field: String, source: String)
        throws(CalibrationError)
    {
        let q = curves.shape[0]
        let plane = curves.count / q
        let shape = curves.shape
        let problem: (Int, String)? = curves.withUnsafeBufferPointer { c in
            for i in 0..<plane {
                let allNaN = c[i].isNaN
                for k in 0..<q {
                    let value = c[k * plane + i]
                    let index = k * plane + i
                    if value.isNaN {
                        if rule == .conformal {
                            return (index, "NaN is not a conformal threshold (a pool without scores has +inf)")
                        }
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
                        return (
                            index,
                            "curves must not decrease in the level, found \(c[(k - 1) * plane + i]) then \(value)"
                        )
                    }
                }
            }
            return nil
        }
        if let (index, message) = problem {
            throw .invalidCurves(
                source: source, field: field,
                problem: "\(message) at index \(InputValidation.multiIndex(index, shape: shape))")
        }
    }

    /// Writes the calibrated-model file atomically, in format 3.
    public func write(to url: URL) throws(CalibrationError) {
        do { try safetensors.write(to: url) } catch { throw .file(error) }
    }

    /// Reads a calibrated-model file of any format.
    public static func read(contentsOf url: URL) throws(CalibrationError) -> CalibratedCurves {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.read(contentsOf: url) } catch { throw .file(error) }
        return try CalibratedCurves(safetensors: file, source: url.path)
    }

    static func jsonString(_ value: some Encodable) -> String {
        (try? JSONOutput.encode(value, .compact)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// The integers of a JSON array text (`[1, 2]`); nil when the text is not one.
    static func integerList(_ text: String) -> [Int]? {
        guard case .array(let items)? = JSONValue(parsing: text) else { return nil }
        return integers(items)
    }

    /// The values of JSON array items that are all integers; nil when one is not.
    private static func integers(_ items: [JSONValue]) -> [Int]? {
        let integers = items.compactMap { if case .integer(let number) = $0 { number } else { nil } }
        return integers.count == items.count ? integers : nil
    }

    /// Per entry null or an array of integers; nil when an entry is neither.
    private static func optionalIntegerLists(_ entries: [JSONValue]) -> [[Int]?]? {
        var lists: [[Int]?] = []
        for entry in entries {
            switch entry {
            case .null: lists.append(nil)
            case .array(let items):
                guard let list = integers(items) else { return nil }
                lists.append(list)
            default: return nil
            }
        }
        return lists
    }
}

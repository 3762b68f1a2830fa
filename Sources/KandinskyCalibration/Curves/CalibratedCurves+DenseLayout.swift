import KandinskyCore

/// Formats 1 and 2 of the calibrated-model file: every curve of every pixel in one tensor.
extension CalibratedCurves {
    /// `nc_curves` [Q, C, H, W], and for grouped strategies `group_labels` [C, H, W] (−1 for
    /// pixelwise classes), `kandinsky_mask` [H, W] and `mask_class`.
    func denseTensors() -> SafetensorsFile {
        var file = SafetensorsFile()
        file["nc_curves"] = .float32(curves)
        if let maskClass = groups.labels.firstIndex(where: { $0 != nil }) {
            file["kandinsky_mask"] = .int32(groups.labels[maskClass]!)
            let all = ShapedArray<Int32>(shape: [classCount, height, width]) { out in
                for c in 0..<classCount {
                    let plane = height * width
                    if let labels = groups.labels[c] {
                        labels.withUnsafeBufferPointer { l in
                            (out.baseAddress! + c * plane).update(from: l.baseAddress!, count: plane)
                        }
                    } else {
                        (out.baseAddress! + c * plane).update(repeating: -1, count: plane)
                    }
                }
            }
            file["group_labels"] = .int32(all)
            file.metadata["mask_class"] = "\(maskClass)"
        }
        return file
    }

    /// The curves and groups of a format-1 or format-2 file (or one without `format_version`):
    /// `nc_curves` required, `group_labels` and `kandinsky_mask` checked when present.
    static func readDense(_ file: SafetensorsFile, rule: QuantileRule, source: String) throws(CalibrationError) -> (
        Tensor, PixelGroups
    ) {
        guard let stored = file["nc_curves"] else {
            throw .invalidCurves(
                source: source, field: "nc_curves",
                problem: "the file has no nc_curves tensor (tensors: \(file.tensors.map(\.name)))")
        }
        let curves = try floatCurves(stored, field: "nc_curves", source: source)
        guard curves.rank == 4, curves.shape[0] >= 2, curves.shape[1...].allSatisfy({ $0 > 0 }) else {
            throw .invalidCurves(
                source: source, field: "nc_curves", problem: "expected [Q, C, H, W] with Q ≥ 2, found \(curves.shape)")
        }
        let (classCount, height, width) = (curves.shape[1], curves.shape[2], curves.shape[3])
        var groups = PixelGroups.pixelwise(classCount: classCount)
        if let labelsArray = file["group_labels"] {
            guard case .int32(let labels) = labelsArray, labels.shape == [classCount, height, width] else {
                throw .invalidCurves(
                    source: source, field: "group_labels",
                    problem:
                        "expected I32 [\(classCount), \(height), \(width)], found \(labelsArray.elementType.rawValue) \(labelsArray.shape)"
                )
            }
            var maps: [ShapedArray<Int32>?] = []
            var counts: [Int] = []
            for c in 0..<classCount {
                let plane = labels[leading: c]
                let maximum = plane.withUnsafeBufferPointer { $0.max() ?? -1 }
                let minimum = plane.withUnsafeBufferPointer { $0.min() ?? -1 }
                if maximum < 0 {
                    maps.append(nil)
                    counts.append(0)
                } else {
                    guard minimum >= 0 else {
                        throw .invalidCurves(
                            source: source, field: "group_labels", problem: "class \(c) mixes group ids and −1")
                    }
                    maps.append(plane)
                    counts.append(Int(maximum) + 1)
                }
            }
            if let text = file.metadata["group_counts"] {
                guard let stored = integerList(text), stored.count == classCount else {
                    throw .invalidCurves(
                        source: source, field: "group_counts",
                        problem:
                            "expected a JSON array of \(classCount) group counts (one per class), found \(text.prefix(80))"
                    )
                }
                for c in 0..<classCount where stored[c] < counts[c] || (counts[c] > 0) != (stored[c] > 0) {
                    throw .invalidCurves(
                        source: source, field: "group_labels",
                        problem: counts[c] == 0
                            ? "class \(c) is pixelwise (labels −1) but group_counts gives it \(stored[c]) groups"
                            : "class \(c) has group label \(counts[c] - 1), outside 0..<\(stored[c]) (group_counts)")
                }
                counts = stored
            }
            groups = PixelGroups(labels: maps, groupCounts: counts)
        }
        if let mask = file["kandinsky_mask"], mask.shape != [height, width] {
            throw .invalidCurves(
                source: source, field: "kandinsky_mask",
                problem: "expected [\(height), \(width)] (the curves' H, W), found \(mask.shape)")
        }
        try checkValues(curves, rule: rule, field: "nc_curves", source: source)
        return (curves, groups)
    }
}

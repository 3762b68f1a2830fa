import KandinskyCore

/// Format 3 of the calibrated-model file: one tensor per class, and a grouped class's curves
/// stored once per group.
extension CalibratedCurves {
    /// The curve of each group of class `c`, [Q, G_c] with G_c = `groups.groupCounts[c]`:
    /// column g is the curve every pixel of group g has. A group without pixels gets the
    /// curve of a pool without scores, +∞ under ``QuantileRule/conformal`` and NaN under
    /// ``QuantileRule/linear``, as the calibrator gives it.
    ///
    /// - Returns: nil for a pixelwise class, or when some pixel's curve differs from the rest of
    ///   its group's (``ThresholdFallback/group`` gives pixels their own thresholds where they
    ///   reach a level). Curves are compared bit for bit, so NaN matches NaN.
    /// - Precondition: `c` is in 0 ..< C.
    /// - Complexity: O(Q·H·W).
    package func groupCurves(ofClass c: Int) -> Tensor? {
        precondition(c >= 0 && c < classCount, "class \(c) is outside 0..<\(classCount)")
        guard let labels = groups.labels[c] else { return nil }
        let (q, g, pixels) = (levelCount, groups.groupCounts[c], height * width)
        var first = [Int](repeating: -1, count: g)
        labels.withUnsafeBufferPointer { l in
            for p in 0..<pixels where first[Int(l[p])] < 0 { first[Int(l[p])] = p }
        }
        var result = Tensor(shape: [q, g], repeating: rule == .conformal ? .infinity : .nan)
        let shared = result.withUnsafeMutableBufferPointer { out in
            curves.withUnsafeBufferPointer { v in
                labels.withUnsafeBufferPointer { l in
                    for k in 0..<q {
                        let row = v.baseAddress! + (k * classCount + c) * pixels
                        for group in 0..<g where first[group] >= 0 { out[k * g + group] = row[first[group]] }
                        for p in 0..<pixels where row[p].bitPattern != row[first[Int(l[p])]].bitPattern { return false }
                    }
                    return true
                }
            }
        }
        return shared ? result : nil
    }

    /// The curves of class `c`, [Q, H, W].
    func curves(ofClass c: Int) -> Tensor {
        let pixels = height * width
        return Tensor(shape: [levelCount, height, width]) { out in
            curves.withUnsafeBufferPointer { v in
                for k in 0..<levelCount {
                    (out.baseAddress! + k * pixels).update(
                        from: v.baseAddress! + (k * classCount + c) * pixels, count: pixels)
                }
            }
        }
    }

    /// Per class `nc_curves_class{c}` [Q, H, W], or `group_labels_class{c}` [H, W] with
    /// `nc_group_curves_class{c}` [Q, G] when its pixels share their group's curve (and Q is at
    /// most ``maximumGroupCurveLevelCount``), else with `nc_curves_class{c}`.
    func perClassTensors() -> SafetensorsFile {
        var file = SafetensorsFile()
        for c in 0..<classCount {
            if let labels = groups.labels[c] {
                file["group_labels_class\(c)"] = .int32(labels)
                if levelCount <= Self.maximumGroupCurveLevelCount, let perGroup = groupCurves(ofClass: c) {
                    file["nc_group_curves_class\(c)"] = .float32(perGroup)
                    continue
                }
            }
            file["nc_curves_class\(c)"] = .float32(curves(ofClass: c))
        }
        return file
    }

    /// The curves and groups of a format-3 file, every stored tensor checked before the group
    /// curves are spread over their pixels.
    static func readPerClass(_ file: SafetensorsFile, rule: QuantileRule, source: String) throws(CalibrationError) -> (
        Tensor, PixelGroups
    ) {
        guard let text = file.metadata["group_counts"] else {
            throw .invalidCurves(
                source: source, field: "group_counts",
                problem:
                    "format 3 needs group_counts, a JSON array of the number of groups of each class (0 for pixelwise)")
        }
        guard let groupCounts = integerList(text), !groupCounts.isEmpty, groupCounts.allSatisfy({ $0 >= 0 })
        else {
            throw .invalidCurves(
                source: source, field: "group_counts",
                problem: "expected a JSON array of non-negative group counts, one per class, found \(text.prefix(80))")
        }
        for (name, _) in file.tensors {
            if let c = classIndex(ofTensorNamed: name), c >= groupCounts.count {
                throw .invalidCurves(
                    source: source, field: name,
                    problem: "a tensor of class \(c), but group_counts lists classes 0..<\(groupCounts.count)")
            }
        }
        // Q and [H, W] as the first tensor that has them gives them, with its name for errors.
        var levels: (count: Int, tensor: String)?
        var size: (shape: [Int], tensor: String)?
        func agree(plane: [Int], tensor name: String, shape: [Int]) throws(CalibrationError) {
            if let size, size.shape != plane {
                throw .invalidCurves(
                    source: source, field: name,
                    problem: "expected H, W = \(size.shape) like \(size.tensor), found shape \(shape)")
            }
            size = size ?? (plane, name)
        }
        func agree(levelCount q: Int, tensor name: String, shape: [Int]) throws(CalibrationError) {
            if let levels, levels.count != q {
                throw .invalidCurves(
                    source: source, field: name,
                    problem: "expected Q = \(levels.count) curve levels like \(levels.tensor), found shape \(shape)")
            }
            levels = levels ?? (q, name)
        }

        var stored: [(curves: Tensor, labels: ShapedArray<Int32>?)] = []
        for (c, groupCount) in groupCounts.enumerated() {
            let pixelName = "nc_curves_class\(c)"
            let groupName = "nc_group_curves_class\(c)"
            let labelsName = "group_labels_class\(c)"
            var labels: ShapedArray<Int32>?
            if groupCount == 0 {
                for name in [groupName, labelsName] where file[name] != nil {
                    throw .invalidCurves(
                        source: source, field: name,
                        problem: "class \(c) is pixelwise (group_counts gives it 0 groups) but the file has \(name)")
                }
            } else {
                guard let array = file[labelsName] else {
                    throw .invalidCurves(
                        source: source, field: labelsName,
                        problem:
                            "class \(c) has \(groupCount) groups (group_counts) but the file has no \(labelsName), its I32 [H, W] group ids"
                    )
                }
                guard case .int32(let map) = array, map.rank == 2, map.shape.allSatisfy({ $0 > 0 }) else {
                    throw .invalidCurves(
                        source: source, field: labelsName,
                        problem: "expected I32 [H, W] group ids, found \(array.elementType.rawValue) \(array.shape)")
                }
                try agree(plane: map.shape, tensor: labelsName, shape: map.shape)
                let outside = map.withUnsafeBufferPointer { l in l.firstIndex { $0 < 0 || Int($0) >= groupCount } }
                if let outside {
                    throw .invalidCurves(
                        source: source, field: labelsName,
                        problem:
                            "group label \(map.scalars[outside]) at \(InputValidation.multiIndex(outside, shape: map.shape)) is outside 0..<\(groupCount) (group_counts)"
                    )
                }
                labels = map
            }
            let curves: Tensor
            switch (file[groupName], file[pixelName]) {
            case (let perGroup?, nil):
                curves = try floatCurves(perGroup, field: groupName, source: source)
                guard curves.rank == 2, curves.shape[0] >= 2, curves.shape[1] == groupCount else {
                    throw .invalidCurves(
                        source: source, field: groupName,
                        problem:
                            "expected [Q, \(groupCount)] (Q ≥ 2, one curve per group of group_counts), found \(curves.shape)"
                    )
                }
                guard curves.shape[0] <= maximumGroupCurveLevelCount else {
                    throw .invalidCurves(
                        source: source, field: groupName,
                        problem:
                            "expected at most \(maximumGroupCurveLevelCount) curve levels for curves stored per group, found \(curves.shape[0])"
                    )
                }
                try agree(levelCount: curves.shape[0], tensor: groupName, shape: curves.shape)
                try checkValues(curves, rule: rule, field: groupName, source: source)
            case (nil, let perPixel?):
                curves = try floatCurves(perPixel, field: pixelName, source: source)
                guard curves.rank == 3, curves.shape[0] >= 2, curves.shape[1...].allSatisfy({ $0 > 0 }) else {
                    throw .invalidCurves(
                        source: source, field: pixelName,
                        problem: "expected [Q, H, W] with Q ≥ 2, found \(curves.shape)")
                }
                try agree(levelCount: curves.shape[0], tensor: pixelName, shape: curves.shape)
                try agree(plane: Array(curves.shape[1...]), tensor: pixelName, shape: curves.shape)
                try checkValues(curves, rule: rule, field: pixelName, source: source)
            case (_?, _?):
                throw .invalidCurves(
                    source: source, field: pixelName,
                    problem: "class \(c) has both \(groupName) and \(pixelName); expected one")
            case (nil, nil):
                throw .invalidCurves(
                    source: source, field: pixelName,
                    problem: groupCount == 0
                        ? "the file has no \(pixelName), the [Q, H, W] curves of pixelwise class \(c)"
                        : "the file has neither \(groupName) [Q, \(groupCount)] nor \(pixelName) [Q, H, W] for class \(c)"
                )
            }
            stored.append((curves, labels))
        }
        guard let levels, let size else {
            // Every class has a curves tensor and every grouped class its labels, so both are set.
            preconditionFailure("a format-3 file was read without curve levels or an image size")
        }
        let (q, classCount, pixels) = (levels.count, groupCounts.count, size.shape[0] * size.shape[1])
        let dense = Tensor(shape: [q, classCount, size.shape[0], size.shape[1]]) { out in
            for (c, (curves, labels)) in stored.enumerated() {
                curves.withUnsafeBufferPointer { v in
                    for k in 0..<q {
                        let row = out.baseAddress! + (k * classCount + c) * pixels
                        if curves.rank == 3 {
                            row.update(from: v.baseAddress! + k * pixels, count: pixels)
                        } else {
                            let groupCount = curves.shape[1]
                            let levelRow = v.baseAddress! + k * groupCount
                            labels!.withUnsafeBufferPointer { l in
                                for p in 0..<pixels { row[p] = levelRow[Int(l[p])] }
                            }
                        }
                    }
                }
            }
        }
        return (dense, PixelGroups(labels: stored.map(\.labels), groupCounts: groupCounts))
    }
}

import Foundation
import KandinskyCore
import Synchronization

/// Probabilities and targets as models give them, normalised to the one form every calibration
/// routine takes: probabilities P [N, C, H, W] (Float32 or Float16) and one-hot targets
/// T [N, C, H, W] (bytes, 0 or 1).
///
/// ## Probabilities
///
/// A floating-point array (F32, F16 or F64) of rank 4 with N ≥ 1, C ≥ 1 and H·W ≥ 1:
///
/// - **[N, C, H, W]**, one channel per class (softmax or per-class sigmoid outputs). Float32 and
///   Float16 are kept as they are; an array that needs no clamping is passed on without a copy.
/// - **[N, 1, H, W]**, one sigmoid output p per pixel. It becomes two classes, [N, 2, H, W]:
///   channel 1 is p itself, bit for bit, and channel 0 (the background) is 1 − p computed in
///   the element type and rounded to nearest, exactly what `np.concatenate([1 - p, p], axis=1)`
///   gives in the same dtype, so both forms calibrate identically. The background's score
///   downstream is 1 − (1 − p): for p ≥ ½ the subtraction 1 − p is exact (Sterbenz), so that
///   score is p exactly; for p < ½ it differs from p by at most half a unit in the last place
///   of 1 − p, 2⁻²⁵ in Float32 and 2⁻¹² in Float16.
/// - **Float64** (either form) is checked and clamped in Float64, then narrowed to Float32 by
///   rounding to nearest (before the background channel is computed, so a Float64 file and its
///   Float32 narrowing give the same result).
///
/// Every value must lie in [0, 1]. A value outside by at most ``clampingTolerance`` (1e-5, the
/// float rounding of a softmax or sigmoid), measured exactly as its distance to [0, 1] in
/// Float64, is clamped to the nearer bound and counted (``clampedCount``,
/// ``largestClampedExcursion``, ``clampingWarning``); clamping copies the array. NaN or a value
/// further out is an error.
///
/// ## Targets
///
/// An array of any element type (bool, U8, I32, I64, F16, F32, F64) in one of these forms:
///
/// - **one-hot [N, C, H, W]** with the shape of the normalised probabilities (C = 2 for a
///   single-channel input), values exactly 0 or 1 (several classes may be 1 at a pixel, each
///   class is calibrated on its own). U8 targets are passed on without a copy.
/// - **a label map [N, H, W]**: each value is the pixel's class, an integer in 0..<C with C the
///   probabilities' channel count after expansion (floating-point labels must be whole
///   numbers; `false`/`true` are labels 0 and 1). It becomes one-hot: T[n, c, h, w] = 1 exactly
///   when the label at (n, h, w) is c.
/// - **a mask [N, 1, H, W]** of 0/1, only when the probabilities are single-channel: channel 1
///   is the mask, channel 0 its complement.
///
/// ## Errors
///
/// Each names the input (its file path when it came from one), the field and what was expected:
/// - ``CalibrationError/Kind/invalidProbability``: integer or boolean probabilities (field
///   `dtype`); NaN or a value further than 1e-5 outside [0, 1], naming the first such value in
///   row-major order and its index in the input array.
/// - ``CalibrationError/Kind/shapeMismatch``: probabilities of another rank; targets of a shape
///   that is none of the forms above, naming both the targets' and the probabilities' shapes.
/// - ``CalibrationError/Kind/emptyInput``: N, C or H·W is 0.
/// - ``CalibrationError/Kind/invalidTarget``: a one-hot or mask value other than 0 or 1, or a
///   label that is not an integer in 0..<C, naming the first such value and its index.
///
/// Complexity: one pass over the probabilities, split across cores, plus one write of the
/// result when values are clamped, narrowed or expanded; one pass over the targets, plus one
/// write of N·C·H·W bytes unless they are U8 one-hot already.
public struct CalibrationInput: Sendable {
    /// How far outside [0, 1] a probability may lie and still be clamped: 1e-5.
    public static let clampingTolerance = 1e-5

    /// P [N, C, H, W] in [0, 1]: Float32 (from F32 or F64 input) or Float16.
    public let probabilities: ProbabilityArray
    /// T [N, C, H, W], 0 or 1; nil when no targets were given.
    public let targets: ShapedArray<UInt8>?
    /// Whether the probabilities were single-channel [N, 1, H, W] and were expanded to two
    /// classes.
    public let isExpandedFromSingleChannel: Bool
    /// The number of probabilities that lay outside [0, 1] (by at most ``clampingTolerance``)
    /// and were clamped.
    public let clampedCount: Int
    /// The largest distance to [0, 1] of a clamped probability; 0 when none was clamped.
    public let largestClampedExcursion: Double
    /// The name of the probabilities in messages (a file path).
    public let probabilitiesSource: String

    /// [N, C, H, W] of the normalised probabilities (and targets).
    public var shape: [Int] { probabilities.shape }

    /// One line for the user when probabilities were clamped, nil otherwise:
    /// `P.npy: clamped 12 probabilities outside [0, 1] by at most 3.1e-06` (the excursion
    /// rounded up to two significant digits, so "at most" holds).
    public var clampingWarning: String? {
        guard clampedCount > 0 else { return nil }
        let noun = clampedCount == 1 ? "probability" : "probabilities"
        return "\(probabilitiesSource): clamped \(clampedCount) \(noun) outside [0, 1] by at most "
            + Self.roundedUp(largestClampedExcursion)
    }

    /// Normalises probabilities and, optionally, targets (see the type's documentation for the
    /// accepted forms).
    ///
    /// - Parameters:
    ///   - probabilities: P as read from a file: [N, C, H, W] or [N, 1, H, W], F32, F16 or F64.
    ///   - targets: one-hot [N, C, H, W], a label map [N, H, W] or, for single-channel
    ///     probabilities, a mask [N, 1, H, W]; nil when there are none (prediction sets).
    ///   - probabilitiesSource: the name of the probabilities in messages (a file path).
    ///   - targetsSource: the name of the targets in messages (a file path).
    /// - Throws: ``CalibrationError`` as listed in the type's documentation.
    /// - Complexity: O(N·C·H·W).
    public init(
        probabilities: AnyShapedArray, targets: AnyShapedArray? = nil,
        probabilitiesSource: String = "probabilities", targetsSource: String = "targets"
    ) throws(CalibrationError) {
        let inputShape = probabilities.shape
        guard inputShape.count == 4 else {
            throw .shapeMismatch(
                source: probabilitiesSource, expected: "a rank-4 array [N, C, H, W] or [N, 1, H, W]", found: inputShape)
        }
        guard inputShape.allSatisfy({ $0 > 0 }) else {
            throw .emptyInput(source: probabilitiesSource, shape: inputShape)
        }
        let expand = inputShape[1] == 1
        let scan: RangeScan
        switch probabilities {
        case .float32(let p):
            scan = try Self.scan(p, source: probabilitiesSource) { $0 }
            self.probabilities = .float32(
                expand ? Self.expanded(p, convert: { $0 }) : Self.clamped(p, if: scan.clamped > 0))
        case .float16(let p):
            scan = try Self.scan(p, source: probabilitiesSource) { Float($0) }
            self.probabilities = .float16(
                expand ? Self.expanded(p, convert: { $0 }) : Self.clamped(p, if: scan.clamped > 0))
        case .float64(let p):
            scan = try Self.scan(p, source: probabilitiesSource) { Float($0) }
            self.probabilities = .float32(expand ? Self.expanded(p, convert: { Float($0) }) : Self.narrowed(p))
        default:
            throw CalibrationError(
                .invalidProbability, source: probabilitiesSource, field: "dtype",
                problem:
                    "expected floating-point probabilities (F32, F16 or F64), found \(probabilities.elementType.rawValue)"
            )
        }
        self.isExpandedFromSingleChannel = expand
        self.clampedCount = scan.clamped
        self.largestClampedExcursion = scan.largest
        self.probabilitiesSource = probabilitiesSource
        if let targets {
            self.targets = try Self.oneHot(
                targets, inputShape: inputShape, shape: self.probabilities.shape,
                source: targetsSource, probabilitiesSource: probabilitiesSource)
        } else {
            self.targets = nil
        }
    }

    /// Targets alone normalised to one-hot T [N, C, H, W] bytes, for probabilities of shape
    /// `probabilitiesShape` as given (before a single channel is expanded to two): what
    /// ``targets`` would be for those probabilities, without reading them (the counting pass
    /// of ``ScoreStore/Builder`` needs only the targets).
    ///
    /// - Throws: ``CalibrationError`` as listed in the type's documentation.
    /// - Complexity: O(N·C·H·W).
    public static func targets(
        _ targets: AnyShapedArray, probabilitiesShape inputShape: [Int],
        targetsSource: String = "targets",
        probabilitiesSource: String = "probabilities"
    ) throws(CalibrationError) -> ShapedArray<UInt8> {
        guard inputShape.count == 4 else {
            throw .shapeMismatch(
                source: probabilitiesSource, expected: "a rank-4 array [N, C, H, W] or [N, 1, H, W]", found: inputShape)
        }
        guard inputShape.allSatisfy({ $0 > 0 }) else {
            throw .emptyInput(source: probabilitiesSource, shape: inputShape)
        }
        let shape = classShape(of: inputShape)
        return try oneHot(
            targets, inputShape: inputShape, shape: shape, source: targetsSource,
            probabilitiesSource: probabilitiesSource)
    }

    // MARK: - Probabilities

    /// What a pass over probabilities found.
    struct RangeScan {
        var clamped = 0
        var largest = 0.0
        var firstBad: Int?

        mutating func merge(_ other: RangeScan) {
            clamped += other.clamped
            largest = max(largest, other.largest)
            if let bad = other.firstBad { firstBad = firstBad.map { min($0, bad) } ?? bad }
        }
    }

    /// Counts the values within the tolerance outside [0, 1] and finds the first one further
    /// out or NaN, which it throws as ``CalibrationError/invalidProbability(source:value:at:)``.
    static func scan<S: BinaryFloatingPoint>(
        _ array: ShapedArray<S>, source: String,
        float: (S) -> Float
    ) throws(CalibrationError) -> RangeScan {
        let total = Mutex(RangeScan())
        array.withUnsafeBufferPointer { buffer in
            let base = UncheckedPointer(buffer.baseAddress!)
            parallelFor(0..<buffer.count) { range in
                var local = RangeScan()
                for i in range {
                    let x = base.pointer[i]
                    if x >= 0 && x <= 1 { continue }
                    let value = Double(x)
                    let excursion = value < 0 ? -value : value - 1  // exact; NaN stays NaN
                    if excursion <= clampingTolerance {
                        local.clamped += 1
                        local.largest = max(local.largest, excursion)
                    } else if local.firstBad == nil {
                        local.firstBad = i
                    }
                }
                total.withLock { $0.merge(local) }
            }
        }
        let scan = total.withLock { $0 }
        if let bad = scan.firstBad {
            throw .invalidProbability(
                source: source, value: array.withUnsafeBufferPointer { float($0[bad]) },
                at: InputValidation.multiIndex(bad, shape: array.shape))
        }
        return scan
    }

    /// `array` with values outside [0, 1] moved to the nearer bound; the array itself, without
    /// a copy, when `needed` is false.
    static func clamped<F: BinaryFloatingPoint>(_ array: ShapedArray<F>, if needed: Bool) -> ShapedArray<F> {
        guard needed else { return array }
        var result = array
        result.withUnsafeMutableBufferPointer { buffer in
            let base = UncheckedPointer(buffer.baseAddress!)
            parallelFor(0..<buffer.count) { range in
                for i in range { base.pointer[i] = min(max(base.pointer[i], 0), 1) }
            }
        }
        return result
    }

    /// Float64 probabilities clamped to [0, 1] and rounded to the nearest Float32.
    static func narrowed(_ array: ShapedArray<Double>) -> Tensor {
        Tensor(shape: array.shape) { out in
            let o = UncheckedPointer(out.baseAddress!)
            array.withUnsafeBufferPointer { input in
                let base = UncheckedPointer(input.baseAddress!)
                parallelFor(0..<input.count) { range in
                    for i in range { o.pointer[i] = Float(min(max(base.pointer[i], 0), 1)) }
                }
            }
        }
    }

    /// Single-channel probabilities [N, 1, H, W] as two classes [N, 2, H, W]: channel 1 is
    /// q = `convert`(p clamped to [0, 1]), channel 0 is 1 − q in `F`, rounded to nearest.
    static func expanded<S: BinaryFloatingPoint, F: BinaryFloatingPoint>(
        _ array: ShapedArray<S>,
        convert: (S) -> F
    ) -> ShapedArray<F> {
        let (n, plane) = (array.shape[0], array.shape[2] * array.shape[3])
        return ShapedArray<F>(shape: [n, 2, array.shape[2], array.shape[3]]) { out in
            let o = UncheckedPointer(out.baseAddress!)
            array.withUnsafeBufferPointer { input in
                let base = UncheckedPointer(input.baseAddress!)
                parallelFor(0..<(n * plane)) { range in
                    // The chunk image by image: input offset i = image·plane + pixel.
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let image = start / plane
                        let end = min(range.upperBound, (image + 1) * plane)
                        let background = o.pointer + image * plane
                        let foreground = o.pointer + (image + 1) * plane
                        for i in start..<end {
                            let q = convert(min(max(base.pointer[i], 0), 1))
                            foreground[i] = q
                            background[i] = 1 - q
                        }
                        start = end
                    }
                }
            }
        }
    }

    /// `x` > 0 rounded up to two significant digits, in `%g` notation.
    static func roundedUp(_ x: Double) -> String {
        guard x > 0 && x.isFinite else { return "0" }
        let scale = pow(10, floor(log10(x)) - 1)
        return String(format: "%.2g", (x / scale).rounded(.up) * scale)
    }

    // MARK: - Targets

    /// Targets in any accepted form as one-hot bytes of `shape` (the normalised probabilities'
    /// shape; `inputShape` is the probabilities' shape as given).
    static func oneHot(
        _ array: AnyShapedArray, inputShape: [Int], shape: [Int], source: String,
        probabilitiesSource: String
    ) throws(CalibrationError) -> ShapedArray<UInt8> {
        let found = array.shape
        let labelShape = [shape[0], shape[2], shape[3]]
        if found == shape { return try binary(array, source: source) }
        if inputShape[1] == 1 && found == inputShape { return complemented(try binary(array, source: source)) }
        if found.count == 3 {
            guard found == labelShape else {
                throw .shapeMismatch(
                    source: source,
                    expected: "a label map [N, H, W] = \(labelShape) matching the probabilities' "
                        + "shape \(inputShape) (from \(probabilitiesSource))", found: found)
            }
            return try labels(array, classCount: shape[1], source: source)
        }
        let mask = inputShape[1] == 1 ? ", a mask [N, 1, H, W] = \(inputShape)" : ""
        throw .shapeMismatch(
            source: source,
            expected: "one-hot targets [N, C, H, W] = \(shape)\(mask) or a label map [N, H, W] = "
                + "\(labelShape) for the probabilities' shape \(inputShape) (from \(probabilitiesSource))", found: found
        )
    }

    /// Values that must be exactly 0 or 1, as bytes; U8 input without a copy.
    static func binary(_ array: AnyShapedArray, source: String) throws(CalibrationError) -> ShapedArray<UInt8> {
        switch array {
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        case .uint8(let a):
            if let bad = a.withUnsafeBufferPointer({ $0.firstIndex { $0 > 1 } }) {
                throw .invalidTarget(
                    source: source, value: Double(a.withUnsafeBufferPointer { $0[bad] }),
                    at: InputValidation.multiIndex(bad, shape: a.shape))
            }
            return a
        case .int32(let a): return try binary(a, source: source) { Double($0) }
        case .int64(let a): return try binary(a, source: source) { Double($0) }
        case .float32(let a): return try binary(a, source: source) { Double($0) }
        case .float16(let a): return try binary(a, source: source) { Double($0) }
        case .float64(let a): return try binary(a, source: source) { $0 }
        }
    }

    static func binary<S>(_ array: ShapedArray<S>, source: String, value: (S) -> Double) throws(CalibrationError)
        -> ShapedArray<UInt8>
    {
        var bad: Int?
        let result = ShapedArray<UInt8>(shape: array.shape) { out in
            array.withUnsafeBufferPointer { input in
                for i in 0..<input.count {
                    let v = value(input[i])
                    out[i] = v == 1 ? 1 : 0
                    if v != 0 && v != 1 && bad == nil { bad = i }
                }
            }
        }
        if let bad {
            throw .invalidTarget(
                source: source, value: array.withUnsafeBufferPointer { value($0[bad]) },
                at: InputValidation.multiIndex(bad, shape: array.shape))
        }
        return result
    }

    /// A 0/1 mask [N, 1, H, W] as two classes [N, 2, H, W]: channel 0 = 1 − t, channel 1 = t.
    static func complemented(_ mask: ShapedArray<UInt8>) -> ShapedArray<UInt8> {
        let (n, plane) = (mask.shape[0], mask.shape[2] * mask.shape[3])
        return ShapedArray<UInt8>(shape: [n, 2, mask.shape[2], mask.shape[3]]) { out in
            mask.withUnsafeBufferPointer { t in
                for image in 0..<n {
                    for pixel in 0..<plane {
                        let value = t[image * plane + pixel]
                        out[(2 * image + 1) * plane + pixel] = value
                        out[2 * image * plane + pixel] = 1 - value
                    }
                }
            }
        }
    }

    /// The shape [N, C, H, W] of the classes of probabilities of shape `inputShape` (rank 4):
    /// itself, or [N, 2, H, W] for one sigmoid channel [N, 1, H, W], read as 1 − p and p.
    package static func classShape(of inputShape: [Int]) -> [Int] {
        var shape = inputShape
        if shape[1] == 1 { shape[1] = 2 }
        return shape
    }

    /// A label map [N, H, W] as one-hot targets [N, C, H, W].
    static func labels(_ array: AnyShapedArray, classCount: Int, source: String) throws(CalibrationError)
        -> ShapedArray<UInt8>
    {
        switch array {
        case .bool(let a): return try labels(a, classCount: classCount, source: source) { $0 ? 1 : 0 }
        case .uint8(let a): return try labels(a, classCount: classCount, source: source) { Double($0) }
        case .int32(let a): return try labels(a, classCount: classCount, source: source) { Double($0) }
        case .int64(let a): return try labels(a, classCount: classCount, source: source) { Double($0) }
        case .float32(let a): return try labels(a, classCount: classCount, source: source) { Double($0) }
        case .float16(let a): return try labels(a, classCount: classCount, source: source) { Double($0) }
        case .float64(let a): return try labels(a, classCount: classCount, source: source) { $0 }
        }
    }

    static func labels<S>(
        _ array: ShapedArray<S>, classCount: Int, source: String,
        value: (S) -> Double
    ) throws(CalibrationError) -> ShapedArray<UInt8> {
        let (n, plane) = (array.shape[0], array.shape[1] * array.shape[2])
        var bad: Int?
        var result = ShapedArray<UInt8>(shape: [n, classCount, array.shape[1], array.shape[2]], repeating: 0)
        result.withUnsafeMutableBufferPointer { out in
            array.withUnsafeBufferPointer { input in
                for image in 0..<n {
                    let labels = image * plane
                    let classes = image * classCount * plane
                    for pixel in 0..<plane {
                        let label = value(input[labels + pixel])
                        guard label >= 0 && label < Double(classCount) && label.rounded(.down) == label else {
                            bad = labels + pixel
                            return
                        }
                        out[classes + Int(label) * plane + pixel] = 1
                    }
                }
            }
        }
        if let bad {
            throw .invalidLabel(
                source: source, value: array.withUnsafeBufferPointer { value($0[bad]) },
                at: InputValidation.multiIndex(bad, shape: array.shape), classCount: classCount)
        }
        return result
    }
}

/// Probabilities [N, C, H, W] in one of the two element types the calibration routines are
/// compiled for: Float32 or Float16 (``CalibrationInput`` makes them from any input form).
public enum ProbabilityArray: Sendable {
    case float32(Tensor)
    case float16(HalfTensor)

    /// The shape.
    public var shape: [Int] {
        switch self {
        case .float32(let a): a.shape
        case .float16(let a): a.shape
        }
    }

    /// The probabilities as Float32: the array itself, or a widened copy of Float16 values
    /// (exact, every Float16 is a Float32, so scores and sets are the same; twice the memory).
    public var float32: Tensor {
        switch self {
        case .float32(let a): a
        case .float16(let a): a.map { Float($0) }
        }
    }
}

extension CalibrationError {
    /// A label of a label map that is not an integer in 0..<C.
    static func invalidLabel(source: String, value: Double, at index: [Int], classCount: Int) -> CalibrationError {
        let shown = value.rounded(.down) == value && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
        return CalibrationError(
            .invalidTarget, source: source, field: "values",
            problem: "labels must be integers in 0..<\(classCount) (the probabilities' \(classCount) classes), "
                + "found \(shown) at index \(index)")
    }
}

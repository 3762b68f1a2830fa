import KandinskyCore
import Synchronization

/// Checks and conversions of calibration inputs read from files of any element type.
public enum InputValidation {
    /// Checks that probabilities and targets are both [N, C, H, W] with the same shape, N ≥ 1
    /// and H·W ≥ 1.
    public static func checkShapes(probabilities: [Int], targets: [Int],
                                   probabilitiesSource: String = "probabilities",
                                   targetsSource: String = "targets") throws(CalibrationError) {
        guard probabilities.count == 4 else {
            throw .shapeMismatch(source: probabilitiesSource, expected: "a rank-4 array [N, C, H, W]", found: probabilities)
        }
        guard targets == probabilities else {
            throw .shapeMismatch(source: targetsSource, expected: "the probabilities' shape \(probabilities) (from \(probabilitiesSource))", found: targets)
        }
        guard probabilities.allSatisfy({ $0 > 0 }) else {
            throw .emptyInput(source: probabilitiesSource, shape: probabilities)
        }
    }

    /// Checks that `classIndex` is one of `classCount` classes.
    public static func checkClassIndex(_ classIndex: Int, classCount: Int, source: String = "class index") throws(CalibrationError) {
        guard classIndex >= 0 && classIndex < classCount else {
            throw .classIndexOutOfRange(source: source, index: classIndex, classCount: classCount)
        }
    }

    /// The classes a strategy groups: `classes` checked (each in 0..<classCount, none twice)
    /// and sorted, or every class when nil.
    public static func groupedClasses(_ classes: [Int]?, classCount: Int, source: String = "classes") throws(CalibrationError) -> [Int] {
        guard let classes else { return Array(0..<classCount) }
        for c in classes { try checkClassIndex(c, classCount: classCount, source: source) }
        guard Set(classes).count == classes.count, !classes.isEmpty else {
            throw .invalidParameter("classes", problem: "expected distinct class indices, at least one, found \(classes)")
        }
        return classes.sorted()
    }

    /// Targets of any element type as 0/1 bytes.
    ///
    /// Accepts booleans and integer or floating-point arrays whose values are exactly 0 or 1.
    /// - Throws: ``CalibrationError/Kind/invalidTarget`` naming the first other value.
    public static func targets(from array: AnyShapedArray, source: String = "targets") throws(CalibrationError) -> ShapedArray<UInt8> {
        func convert<S>(_ a: ShapedArray<S>, _ value: (S) -> Double) throws(CalibrationError) -> ShapedArray<UInt8> {
            var bad: Int?
            let result = ShapedArray<UInt8>(shape: a.shape) { out in
                a.withUnsafeBufferPointer { input in
                    for i in 0..<input.count {
                        let v = value(input[i])
                        if v == 1 { out[i] = 1 } else {
                            out[i] = 0
                            if v != 0 && bad == nil { bad = i }
                        }
                    }
                }
            }
            if let bad {
                throw .invalidTarget(source: source, value: a.withUnsafeBufferPointer { value($0[bad]) },
                                     at: multiIndex(bad, shape: a.shape))
            }
            return result
        }
        switch array {
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        case .uint8(let a): return try convert(a) { Double($0) }
        case .int32(let a): return try convert(a) { Double($0) }
        case .int64(let a): return try convert(a) { Double($0) }
        case .float32(let a): return try convert(a) { Double($0) }
        case .float16(let a): return try convert(a) { Double($0) }
        case .float64(let a): return try convert(a) { $0 }
        }
    }

    /// Probabilities of a floating-point array: Float32 and Float16 are kept as they are, Float64
    /// is narrowed to Float32.
    ///
    /// - Throws: ``CalibrationError/Kind/invalidProbability`` for an integer or boolean array.
    public static func probabilities(from array: AnyShapedArray, source: String = "probabilities") throws(CalibrationError) -> ProbabilityArray {
        switch array {
        case .float32(let a): return .float32(a)
        case .float16(let a): return .float16(a)
        case .float64(let a): return .float32(a.map { Float($0) })
        default:
            throw CalibrationError(.invalidProbability, source: source, field: "dtype",
                                   problem: "expected floating-point probabilities (F32, F16 or F64), found \(array.elementType.rawValue)")
        }
    }

    /// The row-major multi-index of a flat offset.
    static func multiIndex(_ offset: Int, shape: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: shape.count)
        var rest = offset
        for axis in shape.indices.reversed() {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }

    /// Runs `body` over chunks of `range` in parallel and returns the smallest offset any chunk
    /// reported, or nil.
    static func firstFailure(in range: Range<Int>, _ body: @Sendable (Range<Int>) -> Int?) -> Int? {
        let first = Mutex<Int?>(nil)
        parallelFor(range) { chunk in
            if let bad = body(chunk) {
                first.withLock { current in current = current.map { min($0, bad) } ?? bad }
            }
        }
        return first.withLock { $0 }
    }
}

/// Probabilities [N, C, H, W] as read from a file: Float32 or Float16.
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
}

/// Runs generic hot loops of this module on a concrete element type.
///
/// Generic code called from another module runs unspecialised (every element conversion goes
/// through a witness table), which is many times slower. Public generic entry points therefore
/// pass their array through here: Float32 and Float16 arrays reach `body` with their concrete
/// type, so the module's own generic loops are compiled for them; any other scalar type is
/// converted to Float32 first.
enum Specialized {
    static func dispatch<P: QuantileScalar, R, E: Error>(_ array: ShapedArray<P>,
                                                          float: (Tensor) throws(E) -> R,
                                                          half: (HalfTensor) throws(E) -> R) throws(E) -> R {
        if P.self == Float.self { return try float(unsafeBitCast(array, to: Tensor.self)) }
        if P.self == Float16.self { return try half(unsafeBitCast(array, to: HalfTensor.self)) }
        return try float(array.map { Float($0) })
    }
}

import KandinskyCore
import Synchronization

/// Checks of calibration inputs shared by the routines that take them (the conversions of
/// inputs read from files are ``CalibrationInput``).
package enum InputValidation {
    /// Checks that probabilities and targets are both [N, C, H, W] with the same shape, N ≥ 1
    /// and H·W ≥ 1.
    package static func checkShapes(
        probabilities: [Int], targets: [Int],
        probabilitiesSource: String = "probabilities",
        targetsSource: String = "targets"
    ) throws(CalibrationError) {
        guard probabilities.count == 4 else {
            throw .shapeMismatch(
                source: probabilitiesSource, expected: "a rank-4 array [N, C, H, W]", found: probabilities)
        }
        guard targets == probabilities else {
            throw .shapeMismatch(
                source: targetsSource,
                expected: "the probabilities' shape \(probabilities) (from \(probabilitiesSource))", found: targets)
        }
        guard probabilities.allSatisfy({ $0 > 0 }) else {
            throw .emptyInput(source: probabilitiesSource, shape: probabilities)
        }
    }

    /// Checks that `classIndex` is one of `classCount` classes.
    package static func checkClassIndex(_ classIndex: Int, classCount: Int, source: String = "class index")
        throws(CalibrationError)
    {
        guard classIndex >= 0 && classIndex < classCount else {
            throw .classIndexOutOfRange(source: source, index: classIndex, classCount: classCount)
        }
    }

    /// The classes a strategy groups: `classes` checked (each in 0..<classCount, none twice)
    /// and sorted, or every class when nil.
    package static func groupedClasses(_ classes: [Int]?, classCount: Int, source: String = "classes")
        throws(CalibrationError) -> [Int]
    {
        guard let classes else { return Array(0..<classCount) }
        for c in classes { try checkClassIndex(c, classCount: classCount, source: source) }
        guard Set(classes).count == classes.count, !classes.isEmpty else {
            throw .invalidParameter(
                "classes", problem: "expected distinct class indices, at least one, found \(classes)")
        }
        return classes.sorted()
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

/// Runs generic hot loops of this module on a concrete element type.
///
/// Generic code called from another module runs unspecialised (every element conversion goes
/// through a witness table), which is many times slower. Public generic entry points therefore
/// pass their array through here: Float32 and Float16 arrays reach the code that reads them with
/// their concrete type, so the module's own generic loops are compiled for them; any other
/// scalar type is converted to Float32 first.
enum Specialized {
    /// An array of probabilities as one of the two concrete types.
    enum Probabilities {
        case float(Tensor)
        case half(HalfTensor)
    }

    /// `array` as Float32 or Float16, without a copy; any other scalar type converted to Float32.
    @inline(__always)
    static func concrete<P: QuantileScalar>(_ array: ShapedArray<P>) -> Probabilities {
        if P.self == Float.self { return .float(unsafeBitCast(array, to: Tensor.self)) }
        if P.self == Float16.self { return .half(unsafeBitCast(array, to: HalfTensor.self)) }
        return .float(array.map { Float($0) })
    }

    /// `float` of `array` as Float32, or `half` of it as Float16 (``concrete(_:)``).
    static func dispatch<P: QuantileScalar, R, E: Error>(
        _ array: ShapedArray<P>,
        float: (Tensor) throws(E) -> R,
        half: (HalfTensor) throws(E) -> R
    ) throws(E) -> R {
        switch concrete(array) {
        case .float(let p): try float(p)
        case .half(let p): try half(p)
        }
    }
}

/// A shard of a test set beside its probabilities: the targets T [n, C, H, W] of the same
/// images and the names of both in error messages.
package typealias EvaluationShard = (targets: ShapedArray<UInt8>, probabilitiesSource: String, targetsSource: String)

/// `body` with pointers to the probabilities and the targets of a shard that the workers of
/// ``parallelFor(_:chunkCount:_:)`` may share (they only read them).
@inline(__always)
func withShardPointers<P, R>(
    _ probabilities: ShapedArray<P>, _ targets: ShapedArray<UInt8>,
    _ body: (UncheckedPointer<P>, UncheckedPointer<UInt8>) -> R
) -> R {
    probabilities.withUnsafeBufferPointer { p in
        targets.withUnsafeBufferPointer { t in body(UncheckedPointer(p.baseAddress!), UncheckedPointer(t.baseAddress!))
        }
    }
}

/// The accumulator of an evaluation that reads a test set shard by shard, whose loops are
/// generic over the probability type:
/// ``add(probabilities:targets:probabilitiesSource:targetsSource:)`` passes the probabilities
/// through ``Specialized`` to the Float32 or the Float16 ``accumulate(_:_:)``, each of which calls
/// the conforming type's generic loops with a concrete type, so that they are compiled for it (a
/// generic requirement, called through the protocol, would run unspecialised).
package protocol SpecializedAccumulator {
    /// What the evaluation returns.
    associatedtype Result

    /// Adds one shard of Float32 probabilities.
    mutating func accumulate(_ probabilities: Tensor, _ shard: EvaluationShard) throws(CalibrationError)

    /// Adds one shard of Float16 probabilities.
    mutating func accumulate(_ probabilities: HalfTensor, _ shard: EvaluationShard) throws(CalibrationError)

    /// The evaluation of the images added.
    func result() throws(CalibrationError) -> Result
}

extension SpecializedAccumulator {
    /// Adds the next images: probabilities and targets [n, C, H, W], checked as the whole
    /// evaluation checks its inputs, the errors naming this shard's sources (the checks and
    /// errors are listed at each accumulator's generic loop); probabilities of another scalar
    /// type than Float32 and Float16 are converted to Float32.
    package mutating func add<P: QuantileScalar>(
        probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
        probabilitiesSource: String = "probabilities", targetsSource: String = "targets"
    ) throws(CalibrationError) {
        let shard = (targets, probabilitiesSource, targetsSource)
        switch Specialized.concrete(probabilities) {
        case .float(let p): try accumulate(p, shard)
        case .half(let p): try accumulate(p, shard)
        }
    }

    /// The evaluation of one shard holding every image: the whole-array evaluation.
    func result<P: QuantileScalar>(
        ofWhole probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>, probabilitiesSource: String,
        targetsSource: String
    ) throws(CalibrationError) -> Result {
        var accumulator = self
        try accumulator.add(
            probabilities: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
            targetsSource: targetsSource)
        return try accumulator.result()
    }
}

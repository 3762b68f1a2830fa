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

/// An evaluation of probabilities [N, C, H, W] whose loops are generic over the probability
/// type: ``evaluateSpecialized(_:_:)`` passes the probabilities through ``Specialized`` to
/// ``specializedEvaluate(_:_:)``, which therefore runs compiled for Float32 or Float16.
protocol SpecializedEvaluation {
    /// What the evaluation reads besides the probabilities.
    associatedtype Inputs
    /// What the evaluation returns.
    associatedtype Result

    /// The evaluation itself; called with Float32 or Float16 probabilities only.
    func specializedEvaluate<P: QuantileScalar>(
        _ probabilities: ShapedArray<P>, _ inputs: Inputs
    ) throws(CalibrationError) -> Result
}

extension SpecializedEvaluation {
    /// ``specializedEvaluate(_:_:)`` of `probabilities` as Float32 or Float16 (any other scalar
    /// type converted to Float32). Always inlined, so that the conforming type's own
    /// `specializedEvaluate` is called with a concrete scalar type and compiled for it (a call
    /// through the protocol from a closure would run unspecialised).
    @inline(__always)
    func evaluateSpecialized<P: QuantileScalar>(
        _ probabilities: ShapedArray<P>, _ inputs: Inputs
    ) throws(CalibrationError) -> Result {
        switch Specialized.concrete(probabilities) {
        case .float(let p): try specializedEvaluate(p, inputs)
        case .half(let p): try specializedEvaluate(p, inputs)
        }
    }
}

import KandinskyCore

/// Bad calibration input: data whose shape, values or contents cannot be calibrated or
/// evaluated. Each case names the input (a file path when the data came from one, otherwise
/// the argument's name), the field that is wrong and what was expected.
///
/// Programmer mistakes (an α outside (0, 1), a level outside [0, 1]) are preconditions instead.
public struct CalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is, for callers that react to specific problems.
    public enum Kind: String, Sendable, Equatable {
        case shapeMismatch
        case invalidProbability
        case invalidTarget
        case classIndexOutOfRange
        case emptyInput
        case classWithoutTargets
        case invalidCurves
        case invalidParameter
        case unreadableFile
    }

    /// The kind of problem.
    public let kind: Kind
    /// The input that is wrong: a file path or an argument name such as `probabilities`.
    public let source: String
    /// The part of the input that is wrong (`shape`, `values`, a tensor or metadata key, …).
    public let field: String
    /// What was expected and what was found.
    public let problem: String

    /// One line: `SOURCE: FIELD: PROBLEM`.
    public var description: String { "\(source): \(field): \(problem)" }

    init(_ kind: Kind, source: String, field: String, problem: String) {
        self.kind = kind
        self.source = source
        self.field = field
        self.problem = problem
    }

    /// The probabilities and targets (or curves) have incompatible shapes.
    package static func shapeMismatch(source: String, field: String = "shape", expected: String, found: [Int])
        -> CalibrationError
    {
        CalibrationError(.shapeMismatch, source: source, field: field, problem: "expected \(expected), found \(found)")
    }

    /// A probability is NaN or outside [0, 1].
    package static func invalidProbability(source: String, value: Float, at index: [Int]) -> CalibrationError {
        CalibrationError(
            .invalidProbability, source: source, field: "values",
            problem: "probabilities must lie in [0, 1] and not be NaN, found \(value) at index \(index)")
    }

    /// A target is neither 0 nor 1.
    package static func invalidTarget(source: String, value: Double, at index: [Int]) -> CalibrationError {
        CalibrationError(
            .invalidTarget, source: source, field: "values",
            problem: "targets must be 0 or 1, found \(value) at index \(index)")
    }

    /// A class index is not one of the C classes.
    package static func classIndexOutOfRange(source: String, index: Int, classCount: Int) -> CalibrationError {
        CalibrationError(
            .classIndexOutOfRange, source: source, field: "class index",
            problem: "class index \(index) is out of range for \(classCount) classes (expected 0..<\(classCount))")
    }

    /// There are no images (N = 0) or no pixels.
    package static func emptyInput(source: String, shape: [Int]) -> CalibrationError {
        CalibrationError(
            .emptyInput, source: source, field: "shape",
            problem: "expected at least one image with at least one pixel, found shape \(shape)")
    }

    /// A class has no target pixel at all, so its curves or coverage are undefined.
    package static func classWithoutTargets(source: String, classIndex: Int) -> CalibrationError {
        CalibrationError(
            .classWithoutTargets, source: source, field: "class \(classIndex)",
            problem: "class \(classIndex) has no target pixels, so it has no non-conformity scores")
    }

    /// A calibrated-curves file or value that is malformed or does not fit the data.
    package static func invalidCurves(source: String, field: String, problem: String) -> CalibrationError {
        CalibrationError(.invalidCurves, source: source, field: field, problem: problem)
    }

    /// A file that could not be read or written.
    package static func file(_ error: FileFormatError) -> CalibrationError {
        CalibrationError(.unreadableFile, source: error.file, field: error.field, problem: error.problem)
    }

    /// A strategy or evaluation parameter that cannot be used.
    public static func invalidParameter(_ name: String, problem: String) -> CalibrationError {
        CalibrationError(.invalidParameter, source: "parameters", field: name, problem: problem)
    }
}

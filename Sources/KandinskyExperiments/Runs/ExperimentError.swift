import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyModels

/// A failed experiment step, described in one line for the command line.
///
/// ``kind`` tells callers and tests what went wrong without parsing the message, and
/// ``underlying`` keeps the error of the data, model, calibration or file layer that caused it,
/// so wrapping a typed error never flattens it into a string. New kinds may be added; compare
/// with the static members of ``Kind``.
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case missingFile, unreadableFile, cannotWrite, invalidData, invalidModel, invalidCalibration
            case invalidConfig, inconsistentSettings, interrupted, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A checkpoint, data folder, manifest or image that does not exist.
        public static let missingFile = Kind(.missingFile)
        /// A file that exists but cannot be read as what it should be (a safetensors file, `metrics.csv`, …).
        public static let unreadableFile = Kind(.unreadableFile)
        /// A file or folder that cannot be created, written or removed.
        public static let cannotWrite = Kind(.cannotWrite)
        /// Data that cannot be loaded (a `DataError` underneath).
        public static let invalidData = Kind(.invalidData)
        /// A network that does not fit the file, the configuration or the input (a
        /// `ModelError` underneath, or an architecture mismatch).
        public static let invalidModel = Kind(.invalidModel)
        /// Scores or curves that cannot be calibrated or evaluated (a
        /// `CalibrationError` underneath), or a file without curves.
        public static let invalidCalibration = Kind(.invalidCalibration)
        /// A configuration that cannot be read (a ``ConfigError`` underneath).
        public static let invalidConfig = Kind(.invalidConfig)
        /// Settings that each pass the schema but do not fit the data together (a split smaller
        /// than the calibration sizes, a class index beyond the curves' classes, …).
        public static let inconsistentSettings = Kind(.inconsistentSettings)
        /// A run stopped by Ctrl-C before it finished.
        public static let interrupted = Kind(.interrupted)
        /// Anything else.
        public static let other = Kind(.other)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let kind: Kind
    /// The message printed by the command line: one line naming the file, key or value and what
    /// was expected.
    public let description: String
    /// The error that caused this one, when another layer threw it.
    public let underlying: (any Error)?

    /// An error of `kind` with the one-line message `description`.
    package init(_ description: String, kind: Kind = .other, underlying: (any Error)? = nil) {
        self.kind = kind
        self.description = description
        self.underlying = underlying
    }

    /// `error` as an experiment error: itself when it is one, else its message unchanged, its
    /// kind told by its type (data, model, calibration, file or configuration), and `error`
    /// kept as ``underlying``.
    package init(wrapping error: any Error) {
        if let error = error as? ExperimentError {
            self = error
            return
        }
        let kind: Kind =
            switch error {
            case is DataError: .invalidData
            case is ModelError: .invalidModel
            case is CalibrationError: .invalidCalibration
            case is FileFormatError: .unreadableFile
            case is ConfigError: .invalidConfig
            default: .other
            }
        self.init("\(error)", kind: kind, underlying: error)
    }

    /// The value of `body`; an error it throws is rethrown as ``init(wrapping:)`` makes it (an
    /// experiment error unchanged, any other with its message and its kind told by its type).
    package static func wrapping<Value>(_ body: () throws -> Value) throws(ExperimentError) -> Value {
        do { return try body() } catch { throw ExperimentError(wrapping: error) }
    }

    /// `cannot write PATH: PROBLEM`, for a file that could not be written.
    package static func cannotWrite(_ path: String, _ error: FileFormatError) -> ExperimentError {
        ExperimentError("cannot write \(path): \(error.problem)", kind: .cannotWrite, underlying: error)
    }

    /// Writes `data` to `url` atomically (``AtomicFile``); a failure is ``cannotWrite(_:_:)``
    /// naming `url`.
    package static func writeAtomically(_ data: Data, to url: URL) throws(ExperimentError) {
        do { try AtomicFile.write(data, to: url) } catch { throw cannotWrite(url.path, error) }
    }

    /// A file or folder that does not exist, in one line naming it (and how to make it).
    package static func missingFile(_ description: String) -> ExperimentError {
        ExperimentError(description, kind: .missingFile)
    }

    /// Settings that do not fit the data, in one line.
    package static func inconsistent(_ description: String) -> ExperimentError {
        ExperimentError(description, kind: .inconsistentSettings)
    }
}

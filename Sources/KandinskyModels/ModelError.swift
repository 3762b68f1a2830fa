import KandinskyCore

/// A model file or an input that does not fit the network, with what was expected.
///
/// ``kind`` tells callers and tests what went wrong without parsing the message; ``underlying``
/// keeps the file error that caused it, when there is one. New kinds may be added; compare with
/// the static members of ``Kind``.
public struct ModelError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreadableFile, invalidFile, weightsMismatch, architectureMismatch, shapeMismatch
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A file that cannot be read or written (a KandinskyCore `FileFormatError` underneath).
        public static let unreadableFile = Kind(.unreadableFile)
        /// Metadata or tensors of a model or checkpoint file that are missing or malformed.
        public static let invalidFile = Kind(.invalidFile)
        /// Weights whose tensors do not match the network's parameters.
        public static let weightsMismatch = Kind(.weightsMismatch)
        /// A file recording another architecture than the one asked for.
        public static let architectureMismatch = Kind(.architectureMismatch)
        /// Images or targets whose shape the network cannot take.
        public static let shapeMismatch = Kind(.shapeMismatch)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let kind: Kind
    /// One line saying what is wrong and what was expected.
    public let description: String
    /// The file error that caused this one, when there is one.
    public let underlying: FileFormatError?

    init(_ description: String, kind: Kind, underlying: FileFormatError? = nil) {
        self.kind = kind
        self.description = description
        self.underlying = underlying
    }

    /// A file that could not be read or written, with the file error's message.
    static func file(_ error: FileFormatError) -> ModelError {
        ModelError(error.description, kind: .unreadableFile, underlying: error)
    }

    /// Missing or malformed metadata or tensors of `file`: `FILE: FIELD: PROBLEM`.
    static func invalidFile(_ file: String, _ field: String, _ problem: String) -> ModelError {
        ModelError("\(file): \(field): \(problem)", kind: .invalidFile)
    }

    /// The tensors of a state dict that do not match the network's parameters.
    static func stateDictMismatch(file: String, missing: [String], unknown: [String], wrongShapes: [String])
        -> ModelError
    {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing tensors \(missing.joined(separator: ", "))") }
        if !unknown.isEmpty { parts.append("unknown tensors \(unknown.joined(separator: ", "))") }
        if !wrongShapes.isEmpty { parts.append("wrongly shaped tensors \(wrongShapes.joined(separator: ", "))") }
        return ModelError(
            "\(file): the weights do not fit the network: \(parts.joined(separator: "; "))",
            kind: .weightsMismatch)
    }

    /// An image size the network cannot take.
    static func unsupportedSize(_ shape: [Int], inputChannels: Int, depth: Int) -> ModelError {
        ModelError(
            "the UNet takes images [N, \(inputChannels), H, W] with H and W divisible by 2^depth = \(1 << depth), "
                + "got shape \(shape)", kind: .shapeMismatch)
    }
}

/// A configuration that cannot be composed or read, described in one line.
///
/// The message names the key (or file, or override), the value found, what was expected and,
/// where known, the file or override the value came from. ``code`` tells callers and tests what
/// went wrong without parsing the message; ``key`` is the dotted key concerned, when there is one;
/// ``underlying`` is the YAML parser's error for a file that is not valid YAML. Two errors are
/// equal when their code, key and message are.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong. New codes may be added; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case malformedFile, missingFile, unknownKey, missingValue, unsetEnvironment, badInterpolation
            case wrongType, outOfRange, inconsistent, badOverride, tooDeep, tooManyNodes, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A file or override that is not valid YAML (or whose `defaults` list cannot be read).
        public static let malformedFile = Code(.malformedFile)
        /// A config group option with no file.
        public static let missingFile = Code(.missingFile)
        /// A key that does not exist.
        public static let unknownKey = Code(.unknownKey)
        /// A required value (`???`) left unset.
        public static let missingValue = Code(.missingValue)
        /// `${oc.env:VAR}` of an unset variable.
        public static let unsetEnvironment = Code(.unsetEnvironment)
        /// `${a.b}` of a key that does not exist, an unterminated interpolation or a cycle.
        public static let badInterpolation = Code(.badInterpolation)
        /// A value of the wrong kind (a list where a number is expected, text that is not a number, …).
        public static let wrongType = Code(.wrongType)
        /// A value of the right kind outside its allowed range (see the configuration schema (`kandinsky
        /// help-config`)).
        public static let outOfRange = Code(.outOfRange)
        /// Values of several keys that do not fit together (a class index beyond the categories, …).
        public static let inconsistent = Code(.inconsistent)
        /// A command-line override that is not `key=value`.
        public static let badOverride = Code(.badOverride)
        /// A YAML document nested deeper than ``ConfigLimits/maximumDepth``.
        public static let tooDeep = Code(.tooDeep)
        /// A document whose aliases or interpolations expand beyond ``ConfigLimits/maximumNodeCount`` nodes.
        public static let tooManyNodes = Code(.tooManyNodes)
        /// Anything else.
        public static let other = Code(.other)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// The dotted key concerned, when there is one.
    public let key: String?
    /// The one-line explanation shown to the user.
    public let description: String
    /// The error that caused this one (the YAML parser's), when there is one.
    public let underlying: (any Error)?

    /// An error whose message is `description` with every line break shown as `\n`: values,
    /// keys and file names quoted in it may hold line breaks, and the message is one line.
    init(_ description: String, code: Code = .other, key: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.key = key
        self.underlying = underlying
        self.description =
            description.contains(where: \.isNewline)
            ? description.reduce(into: "") { text, character in text += character.isNewline ? "\\n" : String(character)
            }
            : description
    }

    /// " (from <source>)", or nothing for an unknown source.
    private static func origin(_ source: String?) -> String {
        source.map { " (from \($0))" } ?? ""
    }

    static func malformedFile(_ file: String, _ problem: String, underlying: (any Error)? = nil) -> ConfigError {
        ConfigError("\(file): \(problem)", code: .malformedFile, underlying: underlying)
    }

    public static func == (a: ConfigError, b: ConfigError) -> Bool {
        a.code == b.code && a.key == b.key && a.description == b.description
    }

    static func missingFile(group: String, option: String, searched: String) -> ConfigError {
        ConfigError(
            "no config '\(ConfigLimits.abbreviated(option))' in group '\(ConfigLimits.abbreviated(group))' (looked for \(ConfigLimits.abbreviated(searched, limit: 1000)))",
            code: .missingFile)
    }

    static func unknownKey(_ key: String, suggestion: String?) -> ConfigError {
        ConfigError(
            "unknown config key '\(ConfigLimits.abbreviated(key))'"
                + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
                + " (prefix it with '+' to add a new key)", code: .unknownKey, key: key)
    }

    static func missingValue(_ key: String) -> ConfigError {
        ConfigError(
            "missing required value for '\(key)': set it on the command line, e.g. \(key)=...", code: .missingValue,
            key: key)
    }

    static func unsetEnvironment(_ variable: String, key: String) -> ConfigError {
        ConfigError(
            "environment variable \(variable) is not set (needed by '\(key)')", code: .unsetEnvironment, key: key)
    }

    static func badInterpolation(_ reference: String, key: String) -> ConfigError {
        ConfigError("'\(key)' refers to '\(reference)', which does not exist", code: .badInterpolation, key: key)
    }

    static func badInterpolation(key: String, _ problem: String) -> ConfigError {
        ConfigError("'\(key)' \(problem)", code: .badInterpolation, key: key)
    }

    static func wrongType(_ key: String, expected: String, found: String, source: String? = nil) -> ConfigError {
        ConfigError(
            "config key '\(key)' must be \(expected), found \(found)" + origin(source), code: .wrongType, key: key)
    }

    static func outOfRange(_ key: String, value: String, expected: String, source: String? = nil) -> ConfigError {
        ConfigError(
            "config key '\(key)' is \(value), expected \(expected)" + origin(source), code: .outOfRange, key: key)
    }

    static func inconsistent(_ key: String, value: String, problem: String, source: String? = nil) -> ConfigError {
        ConfigError("config key '\(key)' is \(value): \(problem)" + origin(source), code: .inconsistent, key: key)
    }

    static func badOverride(_ text: String) -> ConfigError {
        ConfigError(
            "cannot read override '\(ConfigLimits.abbreviated(text))': expected key=value, e.g. data.batch_size=8",
            code: .badOverride)
    }

    static func emptyOverrideKey(_ text: String) -> ConfigError {
        ConfigError(
            "override '\(ConfigLimits.abbreviated(text))' has an empty key: expected key=value, e.g. data.batch_size=8",
            code: .badOverride)
    }

    static func tooDeep(_ source: String) -> ConfigError {
        ConfigError(
            "\(source) is nested more than \(ConfigLimits.maximumDepth) levels deep, the limit for configurations",
            code: .tooDeep)
    }

    static func tooManyNodes(_ source: String) -> ConfigError {
        ConfigError(
            "\(source) holds more than \(ConfigLimits.maximumNodeCount) values once its aliases and references are expanded, the limit for configurations",
            code: .tooManyNodes)
    }
}

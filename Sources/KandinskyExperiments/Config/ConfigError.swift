/// A configuration that cannot be composed or read, described in one line.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The one-line explanation shown to the user.
    public let description: String

    init(_ description: String) { self.description = description }

    static func malformedFile(_ file: String, _ problem: String) -> ConfigError {
        ConfigError("config file \(file): \(problem)")
    }

    static func missingFile(group: String, option: String, searched: String) -> ConfigError {
        ConfigError("no config '\(option)' in group '\(group)' (looked for \(searched))")
    }

    static func unknownKey(_ key: String, suggestion: String?) -> ConfigError {
        ConfigError("unknown config key '\(key)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
            + " (prefix it with '+' to add a new key)")
    }

    static func missingValue(_ key: String) -> ConfigError {
        ConfigError("missing required value for '\(key)': set it on the command line, e.g. \(key)=...")
    }

    static func unsetEnvironment(_ variable: String, key: String) -> ConfigError {
        ConfigError("environment variable \(variable) is not set (needed by '\(key)')")
    }

    static func badInterpolation(_ reference: String, key: String) -> ConfigError {
        ConfigError("'\(key)' refers to '\(reference)', which does not exist")
    }

    static func wrongType(_ key: String, expected: String, found: String) -> ConfigError {
        ConfigError("config key '\(key)' must be \(expected), found '\(found)'")
    }

    static func badOverride(_ text: String) -> ConfigError {
        ConfigError("cannot read override '\(text)': expected key=value, e.g. data.batch_size=8")
    }
}

import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

extension ScorePrecision: ExpressibleByArgument {}
extension ThresholdIndexing: ExpressibleByArgument {}
extension GroupingSpecification.Method: ExpressibleByArgument {}
extension QuantileRule: ExpressibleByArgument {}
extension ThresholdFallback: ExpressibleByArgument {}

/// Reading and checking the options shared by the calibration commands (the shards themselves are
/// ``ShardedInputs``).
enum CalibrationInputs {
    /// Prints one warning line on standard error.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    static func curves(_ path: String) throws -> CalibratedCurves {
        try CalibratedCurves.read(contentsOf: URL(fileURLWithPath: path))
    }

    /// Integers separated by commas: "60,70,80,90".
    static func integers(_ text: String, option: String) throws -> [Int] {
        try list(text, option: option, expected: "comma-separated integers such as 60,70,80,90") { Int($0) }
    }

    /// Numbers separated by commas.
    static func numbers(_ text: String, option: String) throws -> [Double] {
        try list(text, option: option, expected: "comma-separated numbers") { Double($0) }
    }

    /// The comma-separated values of `text`, each read by `parse`; an error naming `option` and
    /// `expected` when there is none or one does not read.
    private static func list<Value>(
        _ text: String, option: String, expected: String,
        _ parse: (String) -> Value?
    ) throws -> [Value] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap(parse)
        guard !parts.isEmpty, values.count == parts.count else {
            throw ValidationError("\(option): expected \(expected), found '\(text)'")
        }
        return values
    }
}

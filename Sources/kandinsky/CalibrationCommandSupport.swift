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
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Int($0) }
        guard !parts.isEmpty, values.count == parts.count else {
            throw ValidationError("\(option): expected comma-separated integers such as 60,70,80,90, found '\(text)'")
        }
        return values
    }

    /// Numbers separated by commas.
    static func numbers(_ text: String, option: String) throws -> [Double] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Double($0) }
        guard !parts.isEmpty, values.count == parts.count else {
            throw ValidationError("\(option): expected comma-separated numbers, found '\(text)'")
        }
        return values
    }
}

import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

extension ScorePrecision: ExpressibleByArgument {}
extension ThresholdIndexing: ExpressibleByArgument {}
extension GroupingSpecification.Method: ExpressibleByArgument {}
extension QuantileRule: ExpressibleByArgument {}
extension ThresholdFallback: ExpressibleByArgument {}

/// Loading and checking the `.npy` inputs shared by the calibration commands.
enum CalibrationInputs {
    /// Probabilities [N, C, H, W] and one-hot targets [N, C, H, W] from files in any form
    /// ``CalibrationInput`` accepts (single-channel sigmoid outputs, label maps, F64, …).
    static func load(probabilities path: String, targets targetsPath: String) throws -> (ProbabilityArray, ShapedArray<UInt8>) {
        let input = try normalised(probabilities: path, targets: targetsPath)
        return (input.probabilities, input.targets!)
    }

    /// Probabilities [N, C, H, W] from a file in any form ``CalibrationInput`` accepts.
    static func probabilities(_ path: String) throws -> ProbabilityArray {
        try normalised(probabilities: path, targets: nil).probabilities
    }

    /// Reads and normalises the inputs and prints the clamping warning, if any, as one line on
    /// standard error.
    private static func normalised(probabilities path: String, targets targetsPath: String?) throws -> CalibrationInput {
        let input = try CalibrationInput(probabilities: NumpyFile.read(contentsOf: URL(fileURLWithPath: path)),
                                         targets: targetsPath.map { try NumpyFile.read(contentsOf: URL(fileURLWithPath: $0)) },
                                         probabilitiesSource: path, targetsSource: targetsPath ?? "targets")
        if let warning = input.clampingWarning {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        return input
    }

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

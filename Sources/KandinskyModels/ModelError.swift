/// A model file or an input that does not fit the network, with what was expected.
public struct ModelError: Error, Sendable, CustomStringConvertible, Equatable {
    /// One line saying what is wrong and what was expected.
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    /// The tensors of a state dict that do not match the network's parameters.
    static func stateDictMismatch(file: String, missing: [String], unknown: [String], wrongShapes: [String]) -> ModelError {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing tensors \(missing.joined(separator: ", "))") }
        if !unknown.isEmpty { parts.append("unknown tensors \(unknown.joined(separator: ", "))") }
        if !wrongShapes.isEmpty { parts.append("wrongly shaped tensors \(wrongShapes.joined(separator: ", "))") }
        return ModelError("\(file): the weights do not fit the network: \(parts.joined(separator: "; "))")
    }

    /// An image size the network cannot take.
    static func unsupportedSize(_ shape: [Int], inputChannels: Int, depth: Int) -> ModelError {
        ModelError("the UNet takes images [N, \(inputChannels), H, W] with H and W divisible by 2^depth = \(1 << depth), got shape \(shape)")
    }
}

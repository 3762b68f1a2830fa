import Foundation
import KandinskyCore

/// The Adam optimiser (Kingma & Ba 2015) with L2 weight decay added to the gradient, exactly as
/// PyTorch's `torch.optim.Adam(weight_decay=λ)` (not AdamW). At step t, for each parameter θ with
/// gradient g:
///
///     g ← g + λ·θ
///     m ← m + (1 − β1)·(g − m)
///     v ← β2·v + (1 − β2)·g²
///     θ ← θ − (η / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
///
/// The moments m and v are kept per parameter name, so they survive a save and restore
/// (`state()` and `restore(_:path:)`) and training resumes exactly.
///
/// - Complexity: O(number of parameters) per step.
public struct Adam: Sendable {
    /// η, set by the schedule each epoch.
    public var learningRate: Float
    /// β1, the decay of the first moment (0.9).
    public var beta1: Float
    /// β2, the decay of the second moment (0.999).
    public var beta2: Float
    /// ε, added to the denominator (1e-8).
    public var epsilon: Float
    /// λ, the L2 penalty's coefficient.
    public var weightDecay: Float
    /// t, the number of updates made so far.
    public private(set) var stepCount = 0
    private var moments: [String: (first: Tensor, second: Tensor)] = [:]

    /// An optimiser with PyTorch's defaults; the moments start at zero and `stepCount` at 0.
    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Updates every parameter of `model` from its accumulated gradient (the gradients are left
    /// as they are; clear them before the next backward pass).
    public mutating func update(_ model: inout some Layer) {
        stepCount += 1
        let t = Double(stepCount)
        let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
        let correction2 = Float((1 - pow(Double(beta2), t)).squareRoot())
        let (beta1, beta2, epsilon, weightDecay) = (self.beta1, self.beta2, self.epsilon, self.weightDecay)
        model.visitParameters { name, parameter in
            var (m, v) =
                moments.removeValue(forKey: name)
                ?? (
                    Tensor(shape: parameter.value.shape, repeating: 0),
                    Tensor(shape: parameter.value.shape, repeating: 0)
                )
            precondition(
                m.shape == parameter.value.shape,
                "Adam state for \(name) has shape \(m.shape), the parameter \(parameter.value.shape)")
            let gradient = parameter.gradient
            parameter.value.withUnsafeMutableBufferPointer { theta in
                gradient.withUnsafeBufferPointer { g in
                    m.withUnsafeMutableBufferPointer { m in
                        v.withUnsafeMutableBufferPointer { v in
                            for i in 0..<theta.count {
                                let gi = g[i] + weightDecay * theta[i]
                                m[i] += (gi - m[i]) * (1 - beta1)
                                v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
                                theta[i] -= stepSize * (m[i] / (v[i].squareRoot() / correction2 + epsilon))
                            }
                        }
                    }
                }
            }
            moments[name] = (m, v)
        }
    }

    /// The moments as named tensors `optimizer.<parameter>.exp_avg` / `.exp_avg_sq` (PyTorch's
    /// names for m and v), with t in the metadata key `optimizer.step`.
    func state() -> (tensors: [(name: String, value: Tensor)], metadata: [String: String]) {
        var tensors: [(name: String, value: Tensor)] = []
        for name in moments.keys.sorted() {
            tensors.append(("optimizer.\(name).exp_avg", moments[name]!.first))
            tensors.append(("optimizer.\(name).exp_avg_sq", moments[name]!.second))
        }
        return (tensors, ["optimizer.step": "\(stepCount)"])
    }

    /// Restores the moments and t written by ``state()`` (tensors without the `optimizer.`
    /// prefix are ignored).
    ///
    /// - Throws: ``ModelError`` when the step count is missing or a moment lacks its partner.
    mutating func restore(_ file: SafetensorsFile, path: String = "checkpoint") throws(ModelError) {
        guard let text = file.metadata["optimizer.step"], let step = Int(text), step >= 0 else {
            throw .invalidFile(
                path, "metadata optimizer.step",
                "expected a non-negative integer, found \(file.metadata["optimizer.step"] ?? "nothing")")
        }
        var first: [String: Tensor] = [:]
        var second: [String: Tensor] = [:]
        for (name, array) in file.tensors where name.hasPrefix("optimizer.") {
            let stem = name.dropFirst("optimizer.".count)
            if stem.hasSuffix(".exp_avg_sq") {
                second[String(stem.dropLast(".exp_avg_sq".count))] = array.toTensor()
            } else if stem.hasSuffix(".exp_avg") {
                first[String(stem.dropLast(".exp_avg".count))] = array.toTensor()
            } else {
                throw .invalidFile(
                    path, "tensor \(name)", "expected an optimizer moment ending in .exp_avg or .exp_avg_sq")
            }
        }
        guard Set(first.keys) == Set(second.keys) else {
            let unpaired = Set(first.keys).symmetricDifference(second.keys).sorted()
            throw ModelError(
                "\(path): optimizer moments without their partner for \(unpaired.joined(separator: ", "))",
                kind: .invalidFile)
        }
        var restored: [String: (first: Tensor, second: Tensor)] = [:]
        for (name, m) in first { restored[name] = (m, second[name]!) }
        moments = restored
        stepCount = step
    }
}

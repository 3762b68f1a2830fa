import KandinskyCore

/// A trainable tensor and the gradient accumulated for it since it was last cleared.
public struct Parameter: Sendable {
    /// The current value.
    public var value: Tensor
    /// ∂loss/∂value summed over the backward passes since ``clearGradient()``; same shape as `value`.
    public var gradient: Tensor

    /// A parameter with the given value and a zero gradient.
    public init(_ value: Tensor) {
        self.value = value
        self.gradient = Tensor(shape: value.shape, repeating: 0)
    }

    /// Sets the gradient to zero without reallocating it.
    public mutating func clearGradient() {
        gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

/// A differentiable function of one tensor, with the state its backward pass needs.
///
/// The contract, which every layer in this module keeps and a user-written layer should too:
/// - ``forward(_:training:)`` maps an input of shape [N, C, H, W] (row-major) to the output. With
///   `training == true` the layer remembers what ``backward(_:)`` needs; with `false` it behaves
///   as at inference time (no dropout) and may remember nothing.
/// - ``backward(_:)`` receives ∂loss/∂output for the last training forward pass, adds
///   ∂loss/∂θ into each parameter's `gradient`, and returns ∂loss/∂input. It may be called once
///   per training forward pass.
/// - ``visitParameters(_:)`` visits each parameter with its name relative to the layer, as
///   PyTorch's `state_dict()` names it (`weight`, `layers.0.bias`, …), always in the same order.
///
/// Layers reuse their output buffers between calls: a caller that holds on to a returned tensor
/// across the next call still sees its values (tensors are copy-on-write), it just costs a copy.
public protocol Layer {
    /// The output for `input`; remembers what ``backward(_:)`` needs when `training` is true.
    mutating func forward(_ input: Tensor, training: Bool) -> Tensor

    /// ∂loss/∂input given ∂loss/∂output of the last training forward pass; accumulates the
    /// parameters' gradients.
    mutating func backward(_ outputGradient: Tensor) -> Tensor

    /// Calls `body` with each parameter and its name relative to this layer.
    mutating func visitParameters(_ body: (_ name: String, _ parameter: inout Parameter) throws -> Void) rethrows
}

extension Layer {
    /// A layer without parameters visits nothing.
    public mutating func visitParameters(_ body: (_ name: String, _ parameter: inout Parameter) throws -> Void) rethrows
    {}

    /// Sets every parameter's gradient to zero.
    public mutating func clearGradients() {
        visitParameters { _, parameter in parameter.clearGradient() }
    }

    /// The number of scalars in all parameters.
    public mutating func parameterCount() -> Int {
        var count = 0
        visitParameters { _, parameter in count += parameter.value.count }
        return count
    }
}

extension Tensor {
    /// Makes `self` a buffer of `shape` whose contents the caller is about to overwrite, keeping
    /// the existing storage when the shape already matches (so a warmed-up layer allocates nothing).
    mutating func prepareBuffer(shape: [Int]) {
        if self.shape != shape { self = Tensor(shape: shape, repeating: 0) }
    }

    /// The storage of `buffer` (what a layer's last call wrote) made a buffer of `shape` by
    /// ``prepareBuffer(shape:)``, leaving `buffer` empty so that the storage stays uniquely
    /// referenced, and is not copied, while the caller writes it.
    static func reusing(_ buffer: inout Tensor, shape: [Int]) -> Tensor {
        var result = Tensor.empty
        swap(&result, &buffer)
        result.prepareBuffer(shape: shape)
        return result
    }
}

/// [N, C, H, W] of a rank-4 tensor, with a precondition naming the layer.
func imageDimensions(_ tensor: Tensor, _ layer: String) -> (n: Int, c: Int, h: Int, w: Int) {
    precondition(tensor.rank == 4, "\(layer) needs a tensor of shape [N, C, H, W], got \(tensor.shape)")
    return (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
}

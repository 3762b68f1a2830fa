import Foundation
import KandinskyCore

/// Top-k pixel cross-entropy, the training loss of the Kandinsky paper's code.
///
/// For logits x and binary targets t of shape [N, C, H, W]:
/// 1. the per-element binary cross-entropy with logits,
///    `ℓ = max(x, 0) − x·t + log(1 + e^(−|x|))` (stable for any |x|);
/// 2. per (image, class) plane, only the k = ⌊kFrac·H·W⌋ largest ℓ are kept (the hard pixels);
/// 3. per class, the mean over images and kept pixels, `L_c = Σ_n Σ_kept ℓ / (N·k)`;
/// 4. the loss is the weighted mean over classes, `Σ_c w_c·L_c / Σ_c w_c` (plain mean by default).
///
/// Its gradient is `(σ(x) − t)·w_c / (Σ w · N · k)` on kept elements and 0 elsewhere. Ties at the
/// k-th largest value are broken by position (lowest index first); the loss does not depend on
/// the choice.
///
/// - Complexity: O(N·C·H·W) expected (quickselect per plane), planes spread over the cores.
public struct TopKBinaryCrossEntropy: Sendable {
    /// kFrac, the fraction of each plane's pixels that count.
    public var keptFraction: Double
    /// Per-class weights w_c, or nil for equal weights.
    public var classWeights: [Float]?

    private var losses = Tensor.empty
    private var selection = Tensor.empty
    private var planeSums: [Double] = []

    /// - Precondition: 0 < keptFraction ≤ 1; weights, when given, non-negative with a positive sum.
    public init(keptFraction: Double = 0.5, classWeights: [Float]? = nil) {
        precondition(keptFraction > 0 && keptFraction <= 1, "keptFraction must be in (0, 1], got \(keptFraction)")
        if let classWeights {
            precondition(
                classWeights.allSatisfy { $0 >= 0 } && classWeights.reduce(0, +) > 0,
                "class weights must be non-negative with a positive sum, got \(classWeights)")
        }
        self.keptFraction = keptFraction
        self.classWeights = classWeights
    }

    /// The loss of `logits` against `targets`, both [N, C, H, W].
    public mutating func callAsFunction(_ logits: Tensor, _ targets: Tensor) -> Float {
        evaluate(logits, targets, gradient: nil)
    }

    /// The loss, with ∂loss/∂logits written into `gradient` (resized to the logits' shape).
    public mutating func lossAndGradient(_ logits: Tensor, _ targets: Tensor, gradient: inout Tensor) -> Float {
        gradient.prepareBuffer(shape: logits.shape)
        return gradient.withUnsafeMutableBufferPointer { evaluate(logits, targets, gradient: $0) }
    }

    private mutating func evaluate(_ logits: Tensor, _ targets: Tensor, gradient: UnsafeMutableBufferPointer<Float>?)
        -> Float
    {
        precondition(
            logits.shape == targets.shape,
            "the loss needs logits and targets of one shape, got \(logits.shape) and \(targets.shape)")
        let (n, c, h, w) = imageDimensions(logits, "TopKBinaryCrossEntropy")
        if let classWeights {
            precondition(
                classWeights.count == c, "\(classWeights.count) class weights for logits of shape \(logits.shape)")
        }
        let size = h * w
        let k = max(1, Int((keptFraction * Double(size)).rounded(.down)))
        losses.prepareBuffer(shape: logits.shape)
        selection.prepareBuffer(shape: logits.shape)
        if planeSums.count != n * c { planeSums = Array(repeating: 0, count: n * c) }
        let weights = classWeights
        let weightSum = weights.map { Double($0.reduce(0, +)) } ?? Double(c)
        logits.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { t in
                losses.withUnsafeMutableBufferPointer { l in
                    selection.withUnsafeMutableBufferPointer { s in
                        planeSums.withUnsafeMutableBufferPointer { sums in
                            parallelFor(0..<(n * c)) { range in
                                for plane in range {
                                    let offset = plane * size
                                    for i in offset..<(offset + size) {
                                        let xi = x[i]
                                        l[i] = max(xi, 0) - xi * t[i] + log1p(exp(-abs(xi)))
                                    }
                                    let scratch = UnsafeMutableBufferPointer(rebasing: s[offset..<(offset + size)])
                                    _ = scratch.initialize(from: l[offset..<(offset + size)])
                                    let threshold = kthLargest(scratch, k)
                                    // Keep everything above the threshold, then ties in index order.
                                    var greater = 0
                                    var sum: Double = 0
                                    for i in offset..<(offset + size) where l[i] > threshold {
                                        greater += 1
                                        sum += Double(l[i])
                                    }
                                    var ties = k - greater
                                    sum += Double(ties) * Double(threshold)
                                    sums[plane] = sum
                                    guard let gradient else { continue }
                                    let scale = (weights?[plane % c] ?? 1) / Float(weightSum * Double(n * k))
                                    for i in offset..<(offset + size) {
                                        var kept = l[i] > threshold
                                        if !kept && l[i] == threshold && ties > 0 {
                                            kept = true
                                            ties -= 1
                                        }
                                        gradient[i] = kept ? (Tensor.sigmoid(x[i]) - t[i]) * scale : 0
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var total: Double = 0
        for plane in 0..<(n * c) { total += Double(weights?[plane % c] ?? 1) * planeSums[plane] }
        return Float(total / (weightSum * Double(n * k)))
    }
}

/// The k-th largest value (k ≥ 1) of `values`, which it reorders (Hoare's quickselect with a
/// median-of-three pivot). - Complexity: O(count) expected.
func kthLargest(_ values: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
    precondition(k >= 1 && k <= values.count, "cannot take the \(k)-th largest of \(values.count) values")
    let target = k - 1  // its index once sorted in decreasing order
    var low = 0
    var high = values.count - 1
    while low < high {
        let middle = low + (high - low) / 2
        // Median of three, moved to `high` as the pivot.
        if values[middle] > values[low] { values.swapAt(middle, low) }
        if values[high] > values[low] { values.swapAt(high, low) }
        if values[middle] > values[high] { values.swapAt(middle, high) }
        let pivot = values[high]
        var store = low
        for i in low..<high where values[i] > pivot {
            values.swapAt(i, store)
            store += 1
        }
        values.swapAt(store, high)
        if store == target { return values[store] }
        if store < target { low = store + 1 } else { high = store - 1 }
    }
    return values[target]
}

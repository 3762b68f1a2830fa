import KandinskyCore

/// The Dice similarity of thresholded predictions, class by class, averaged over a batch.
public enum Dice {
    /// Per class c, the NaN-mean over images n of
    /// `(2·|P ∩ T| + 1e-6) / (|P| + |T| + 1e-6)` with P = {p > 0.5} and T = {t > 0.5} in the
    /// [H, W] plane (n, c); an image whose target plane is empty contributes NaN, so a class
    /// empty in every image gives NaN.
    ///
    /// Shapes: probabilities and targets [N, C, H, W] → [C].
    ///
    /// - Complexity: O(N·C·H·W).
    public static func classwise(probabilities: Tensor, targets: Tensor) -> Tensor {
        precondition(
            probabilities.shape == targets.shape,
            "Dice needs probabilities and targets of one shape, got \(probabilities.shape) and \(targets.shape)")
        let (n, c, h, w) = imageDimensions(probabilities, "Dice")
        let size = h * w
        var sums = [Double](repeating: 0, count: c)
        var counts = [Int](repeating: 0, count: c)
        probabilities.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                for image in 0..<n {
                    for channel in 0..<c {
                        let offset = (image * c + channel) * size
                        var predicted = 0
                        var truth = 0
                        var both = 0
                        for i in offset..<(offset + size) {
                            let isPredicted = p[i] > 0.5
                            let isTrue = t[i] > 0.5
                            if isPredicted { predicted += 1 }
                            if isTrue { truth += 1 }
                            if isPredicted && isTrue { both += 1 }
                        }
                        guard truth > 0 else { continue }
                        sums[channel] += (2 * Double(both) + 1e-6) / (Double(predicted + truth) + 1e-6)
                        counts[channel] += 1
                    }
                }
            }
        }
        return Tensor(shape: [c], scalars: (0..<c).map { counts[$0] > 0 ? Float(sums[$0] / Double(counts[$0])) : .nan })
    }
}

import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyModels

/// Σ r·y in double precision: the scalar whose gradient the checks compare.
private func projection(_ y: Tensor, _ r: Tensor) -> Double {
    let a = y.scalars
    let b = r.scalars
    var sum: Double = 0
    for i in a.indices { sum += Double(a[i]) * Double(b[i]) }
    return sum
}

/// Compares a layer's backward pass with central finite differences of L = Σ r·forward(x) for
/// a random projection r, at `samples` input elements and `samples` elements of each parameter,
/// within `tolerance` times the largest analytic gradient.
///
/// Every evaluation runs a fresh copy of `layer`, so layers with internal randomness (dropout)
/// draw the same masks each time. All in Float: with ε = 1e-2 the truncation error is O(ε²) for
/// smooth layers and the rounding noise about 1e-4 of the gradient scale, so a tolerance of 1e-2
/// relative to the largest analytic gradient separates a correct backward pass from a wrong one.
func checkGradients<L: Layer>(
    _ layer: L, input: Tensor, epsilon: Float = 1e-2, tolerance: Double = 1e-2,
    samples: Int = 24, seed: UInt64 = 1,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var generator = SeededGenerator(seed: seed)
    var analytic = layer
    let output = analytic.forward(input, training: true)
    let r = Tensor.normal(output.shape, using: &generator)
    let inputGradient = analytic.backward(r)
    #expect(inputGradient.shape == input.shape, sourceLocation: sourceLocation)

    func loss(input x: Tensor, parameter: String? = nil, index: Int = 0, delta: Float = 0) -> Double {
        var copy = layer
        if let parameter {
            copy.visitParameters { name, p in
                if name == parameter { p.value.withUnsafeMutableBufferPointer { $0[index] += delta } }
            }
        }
        return projection(copy.forward(x, training: true), r)
    }

    var gradients: [(String, [Float])] = [("input gradient", inputGradient.scalars)]
    analytic.visitParameters { name, p in gradients.append((name, p.gradient.scalars)) }
    // One scale for all gradients: a parameter whose gradient vanishes (a bias before a
    // normalisation) is compared against the network's typical gradient, not against zero.
    let scale = max(gradients.flatMap { $0.1 }.map { Double(abs($0)) }.max() ?? 0, 1e-3)

    for (name, analyticValues) in gradients {
        for _ in 0..<samples {
            let index = Int(generator.next() % UInt64(analyticValues.count))
            let estimate: Double
            if name == "input gradient" {
                var plus = input
                var minus = input
                plus.withUnsafeMutableBufferPointer { $0[index] += epsilon }
                minus.withUnsafeMutableBufferPointer { $0[index] -= epsilon }
                estimate = (loss(input: plus) - loss(input: minus)) / Double(2 * epsilon)
            } else {
                estimate =
                    (loss(input: input, parameter: name, index: index, delta: epsilon)
                        - loss(input: input, parameter: name, index: index, delta: -epsilon)) / Double(2 * epsilon)
            }
            #expect(
                abs(estimate - Double(analyticValues[index])) <= tolerance * scale,
                "\(name)[\(index)]: backward \(analyticValues[index]), finite difference \(estimate)",
                sourceLocation: sourceLocation)
        }
    }
}

/// The committed fixtures, written by `scripts/fixtures/make_unet_fixtures.py` and
/// `scripts/fixtures/make_unet_state_dict_fixture.py`.
let fixtures = Fixtures(in: .module)

/// A committed safetensors fixture, read through Core's reader.
func readFixture(_ name: String) throws -> SafetensorsFile {
    try SafetensorsFile.read(contentsOf: fixtures.url(name))
}

/// The float32 tensor `name` of a fixture.
func tensor(_ file: SafetensorsFile, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Tensor
{
    try #require(file[name], "fixture tensor \(name) is missing", sourceLocation: sourceLocation).toTensor()
}
